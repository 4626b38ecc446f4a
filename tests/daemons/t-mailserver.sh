#!/bin/bash
# t-mailserver.sh - a personal mail server as one app: Postfix receives
# mail over SMTP and delivers it to a Maildir, Dovecot serves that Maildir
# over IMAP, both in their default configurations (chroot on) and in one
# tree started by a small init script (dovecot daemonizes, then the script
# becomes `postfix start-fg`).  10 cycles: before each a mail is sent with
# smtplib and delivered; after each every mail sent so far is read back
# over IMAP, byte for byte as it was first read.  Then mail while it is
# swapped out: 3 times the app is dumped with listener custody (`cr hold`),
# a client connects and sends a mail while no process runs (its SMTP
# session waits in the kept listener's queue), and after the restore with
# --listeners the mail is delivered and read over IMAP.  At the end the
# Postfix queue is empty and neither logged a warning or an error.
d=$(dirname "$0"); [ -f "$d/lib.sh" ] || d=$d/..; . "$d/lib.sh"
d_need postfix postqueue dovecot python3
d_init mailserver
. "$d/mail_lib.sh"
SMTP_PORT=$(d_port)
IMAP_PORT=$(d_port)
mail_conf_postfix "$SMTP_PORT"
mail_conf_dovecot "$IMAP_PORT"
d_spawn sh -c "dovecot -c '$D_DIR/dovecot.conf' && exec postfix -c '$D_DIR/etc' start-fg"

declare -A TOKEN=()
mkdir -p "$D_DIR/first"
ready() { [ "$(mail_smtp "$SMTP_PORT" banner)" = True ] &&
	[ "$(mail_imap "$IMAP_PORT" greeting)" = True ]; }

send() {
	TOKEN[$1]="t$1-$RANDOM$RANDOM"
	d_expect "SMTP mail $1" sent mail_smtp "$SMTP_PORT" "$1" "${TOKEN[$1]}"
	d_wait "delivery of mail $1" sh -c "[ \$(find '$MAILDIR/new' '$MAILDIR/cur' -type f | wc -l) -ge ${#TOKEN[@]} ]"
}

# Every mail so far over IMAP, as its first read gave it.
check_mails() {
	local uid n
	rm -rf "$D_DIR/now"
	mkdir -p "$D_DIR/now"
	d_expect "messages over IMAP after $1" "${#TOKEN[@]}" mail_imap "$IMAP_PORT" dump "$D_DIR/now"
	for uid in $(ls "$D_DIR/now"); do
		[ -f "$D_DIR/first/$uid" ] || cp "$D_DIR/now/$uid" "$D_DIR/first/$uid"
		cmp -s "$D_DIR/first/$uid" "$D_DIR/now/$uid" || d_fail "mail uid $uid changed after $1"
	done
	for n in "${!TOKEN[@]}"; do
		grep -q "^token ${TOKEN[$n]}" "$D_DIR/now"/* || d_fail "mail $n (token ${TOKEN[$n]}) not read back over IMAP after $1"
	done
}

d_wait "SMTP banner and IMAP greeting" ready
send 0
check_mails start
pre() { send "$1"; }
post() {
	d_wait "SMTP banner and IMAP greeting after cycle $1" ready
	check_mails "cycle $1"
}
d_cycles pre post

# Mail while swapped out, with listener custody.
HOLD=$D_DIR/hold.sock
if [ "$CR_NOCR" = 0 ]; then
	"$PICOCENTER" cr hold "$HOLD" 2>"$D_DIR/hold.log" &
	D_BG_PIDS+=($!)
	disown
	d_wait "the custody holder" test -S "$HOLD"
fi
for n in 1 2 3; do
	[ "$CR_NOCR" = 0 ] || break
	k=away$n
	d_snapshot
	"$PICOCENTER" cr dump --pid "$D_PID" --dir "$D_DIR/away.$n" --keep-listeners "$HOLD" \
		2>"$D_DIR/dump.err" || d_fail "dump with custody $n: $(cat "$D_DIR/dump.err")"
	while d_alive "$D_PID"; do sleep 0.01; done
	TOKEN[$k]="t$k-$RANDOM$RANDOM"
	D_TIMEOUT=30 mail_smtp "$SMTP_PORT" "$k" "${TOKEN[$k]}" >"$D_DIR/away.out" 2>&1 &
	client=$!
	sleep 1
	d_alive "$client" || d_fail "the SMTP client ended while the app was swapped out: $(cat "$D_DIR/away.out")"
	D_PID=$("$PICOCENTER" cr restore --dir "$D_DIR/away.$n" --listeners "$HOLD" 2>"$D_DIR/restore.err") ||
		d_fail "restore with custody $n: $(cat "$D_DIR/restore.err")"
	D_ALL_PIDS+=("$D_PID")
	wait "$client" || d_fail "SMTP while swapped out ($n): $(cat "$D_DIR/away.out")"
	[ "$(cat "$D_DIR/away.out")" = sent ] || d_fail "SMTP while swapped out ($n): $(cat "$D_DIR/away.out")"
	d_wait "delivery of the mail sent while swapped out ($n)" sh -c "[ \$(find '$MAILDIR/new' '$MAILDIR/cur' -type f | wc -l) -ge ${#TOKEN[@]} ]"
	check_mails "custody cycle $n"
	d_log "custody cycle $n: the mail sent while swapped out was delivered"
done
d_expect "the Postfix queue" "Mail queue is empty" postqueue -c "$D_DIR/etc" -p
if grep -Ei "warning|error|fatal|panic" "$D_DIR/maillog" "$D_DIR/dovecot.log"; then
	d_fail "the mail server logged the lines above"
fi
d_finish

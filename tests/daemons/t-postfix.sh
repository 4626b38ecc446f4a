#!/bin/bash
# t-postfix.sh - Debian's Postfix with its default master.cf (smtpd,
# cleanup, trivial-rewrite, pickup... chrooted into the queue directory),
# its own main.cf in a temporary directory (SMTP on a free loopback port,
# mail for user@picocenter.test delivered by virtual(8) to a Maildir),
# started with `postfix start-fg` (master -i as pid 1), through 10 cycles:
# before each cycle Python's smtplib sends a mail with a new token and the
# test waits for its delivery; after each the SMTP banner answers, every
# mail sent so far is in the Maildir byte for byte as delivered, and the
# chrooted processes are chrooted again.  At the end the queue is empty
# (postqueue -p, through the showq socket) and Postfix logged no warning,
# error or fatal.
d=$(dirname "$0"); [ -f "$d/lib.sh" ] || d=$d/..; . "$d/lib.sh"
d_need postfix postqueue python3
d_init postfix
. "$d/mail_lib.sh"
PORT=$(d_port)
ETC=$D_DIR/etc SPOOL=$D_DIR/spool
mail_conf_postfix "$PORT"

d_spawn postfix -c "$ETC" start-fg

smtp() { mail_smtp "$PORT" "$@"; }
banner() { [ "$(smtp banner)" = True ]; }
mails() { find "$MAILDIR/new" -type f 2>/dev/null | wc -l; }
declare -A TOKEN=() FILE_SUM=()

# Every mail so far: one file holding its token, unchanged since delivery.
check_mails() {
	local n f t
	[ "$(mails)" = "${#TOKEN[@]}" ] || d_fail "$(mails) mails in the Maildir, want ${#TOKEN[@]}"
	for n in "${!TOKEN[@]}"; do
		f=$(grep -l "^token ${TOKEN[$n]}" "$MAILDIR"/new/* 2>/dev/null)
		[ -n "$f" ] || d_fail "mail $n (token ${TOKEN[$n]}) not in the Maildir"
		grep -q "^Subject: mail $n" "$f" || d_fail "mail $n: subject lost"
		t=$(sha256sum <"$f")
		[ -z "${FILE_SUM[$n]:-}" ] && FILE_SUM[$n]=$t
		[ "${FILE_SUM[$n]}" = "$t" ] || d_fail "mail $n changed on disk"
	done
}

# The chrooted services run chrooted into the spool.
check_chroot() {
	local p found=0
	for p in $(d_tree); do
		[ "$(readlink "/proc/$p/root")" = "$SPOOL" ] && found=1
	done
	[ $found = 1 ] || d_fail "no process of the tree is chrooted into $SPOOL"
}

send() {
	TOKEN[$1]="t$1-$RANDOM$RANDOM"
	d_expect "SMTP mail $1" sent smtp "$1" "${TOKEN[$1]}"
	d_wait "delivery of mail $1" sh -c "[ \$(find '$MAILDIR/new' -type f | wc -l) -ge ${#TOKEN[@]} ]"
}

d_wait "SMTP banner" banner
send 0
check_mails
check_chroot

pre() { send "$1"; check_chroot; }
post() {
	d_expect "SMTP banner after cycle $1" True smtp banner
	check_chroot
	check_mails
}
d_cycles pre post
send last
check_mails
d_expect "the queue" "Mail queue is empty" postqueue -c "$ETC" -p
if grep -Ei "warning|error|fatal|panic" "$D_DIR/maillog"; then
	d_fail "Postfix logged the lines above"
fi
d_finish

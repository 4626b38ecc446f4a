#!/bin/bash
# t-dovecot.sh - Debian's Dovecot (IMAP only, its default services: anvil
# chrooted into run/empty holding sockets the master bound in run/, the
# login processes chrooted into run/login) with its own dovecot.conf in a
# temporary directory, `dovecot -F` as pid 1, through 10 cycles: before
# each cycle Python's imaplib APPENDs a mail; after each the greeting
# answers and every mail so far is FETCHed back byte for byte as IMAP gave
# it before, and anvil is chrooted again.  Dovecot logs no error.
d=$(dirname "$0"); [ -f "$d/lib.sh" ] || d=$d/..; . "$d/lib.sh"
d_need dovecot python3
d_init dovecot
. "$d/mail_lib.sh"
PORT=$(d_port)
mail_conf_dovecot "$PORT"
d_spawn dovecot -F -c "$D_DIR/dovecot.conf"

imap() { mail_imap "$PORT" "$@"; }
greeting() { [ "$(imap greeting)" = True ]; }
declare -A TOKEN=()
mkdir -p "$D_DIR/first"

# FETCH everything into $D_DIR/now; each mail must be what the first
# FETCH of it gave.
check_mails() {
	local uid
	rm -rf "$D_DIR/now"
	mkdir -p "$D_DIR/now"
	d_expect "messages in INBOX after $1" "${#TOKEN[@]}" imap dump "$D_DIR/now"
	for uid in $(ls "$D_DIR/now"); do
		[ -f "$D_DIR/first/$uid" ] || cp "$D_DIR/now/$uid" "$D_DIR/first/$uid"
		cmp -s "$D_DIR/first/$uid" "$D_DIR/now/$uid" || d_fail "mail uid $uid changed after $1"
	done
	for uid in "${!TOKEN[@]}"; do
		grep -q "^token ${TOKEN[$uid]}" "$D_DIR/now"/* || d_fail "mail $uid (token ${TOKEN[$uid]}) lost after $1"
	done
}

check_chroot() {
	local p found=0
	for p in $(d_tree); do
		[ "$(cat "/proc/$p/comm")" = anvil ] &&
			[ "$(readlink "/proc/$p/root")" = "$D_DIR/run/empty" ] && found=1
	done
	[ $found = 1 ] || d_fail "anvil is not chrooted into $D_DIR/run/empty"
}

append() {
	TOKEN[$1]="t$1-$RANDOM$RANDOM"
	d_expect "APPEND mail $1" OK imap append "$1" "${TOKEN[$1]}"
}

d_wait "IMAP greeting" greeting
append 0
check_mails start
check_chroot
pre() { append "$1"; }
post() {
	d_expect "IMAP greeting after cycle $1" True imap greeting
	check_chroot
	check_mails "cycle $1"
}
d_cycles pre post
if grep -Ei "error|fatal|panic" "$D_DIR/dovecot.log"; then
	d_fail "Dovecot logged the lines above"
fi
d_finish

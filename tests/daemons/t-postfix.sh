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
PORT=$(d_port)
ETC=$D_DIR/etc SPOOL=$D_DIR/spool MAILDIR=$D_DIR/vmail/user

mkdir -p "$ETC" "$SPOOL" "$D_DIR/data" "$D_DIR/vmail"
chown postfix "$D_DIR/data"
chown 65534:65534 "$D_DIR/vmail"
cat >"$ETC/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $SPOOL
data_directory = $D_DIR/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mail.picocenter.test
mydomain = picocenter.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = picocenter.test
virtual_mailbox_base = $D_DIR/vmail
virtual_mailbox_maps = texthash:$ETC/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
maillog_file_prefixes = $D_DIR
maillog_file = $D_DIR/maillog
alias_maps =
alias_database =
smtpd_banner = \$myhostname ESMTP picocenter-test
biff = no
CONF
echo "user@picocenter.test user/" >"$ETC/vmailbox"
# Debian's master.cf as installed, with smtpd on our port.
sed "s/^smtp      inet/127.0.0.1:$PORT inet/" /etc/postfix/master.cf >"$ETC/master.cf"
grep -q "^127.0.0.1:$PORT inet .* y .* smtpd" "$ETC/master.cf" ||
	d_fail "Debian's master.cf has no chrooted smtpd line to move to port $PORT"
postfix -c "$ETC" check >"$D_DIR/check.out" 2>&1 || d_fail "postfix check failed"

d_spawn postfix -c "$ETC" start-fg

smtp() { timeout "$D_TIMEOUT" python3 - "$PORT" "$@" <<'PY'
import smtplib, sys
port, what = int(sys.argv[1]), sys.argv[2]
s = smtplib.SMTP(timeout=5)
code, msg = s.connect("127.0.0.1", port)
if what == "banner":
    print(code == 220 and msg.decode().endswith("ESMTP picocenter-test") and
          s.noop()[0] == 250)
else:
    token = sys.argv[3]
    body = "Subject: cycle %s\r\nFrom: sender@example.org\r\n\r\ntoken %s\r\n" % (what, token)
    assert s.sendmail("sender@example.org", ["user@picocenter.test"], body) == {}
    print("sent")
s.quit()
PY
}
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
		grep -q "^Subject: cycle $n" "$f" || d_fail "mail $n: subject lost"
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

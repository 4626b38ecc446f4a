# mail_lib.sh - Postfix and Dovecot configurations and clients shared by
# t-postfix.sh, t-dovecot.sh and t-mailserver.sh (sourced after lib.sh and
# d_init).  Mail for user@picocenter.test lives in the Maildir
# $D_DIR/vmail/user, owned by nobody (65534): Postfix's virtual(8) delivers
# there, Dovecot serves it over IMAP to user "user", password "secret".

MAILDIR=$D_DIR/vmail/user

mail_dirs() {
	mkdir -p "$D_DIR/vmail"
	chown 65534:65534 "$D_DIR/vmail"
}

# mail_conf_postfix PORT: main.cf and Debian's master.cf (chroot on) in
# $D_DIR/etc, SMTP on 127.0.0.1:PORT, the queue in $D_DIR/spool.
mail_conf_postfix() {
	local port=$1 etc=$D_DIR/etc
	mail_dirs
	mkdir -p "$etc" "$D_DIR/spool" "$D_DIR/data"
	chown postfix "$D_DIR/data"
	cat >"$etc/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $D_DIR/spool
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
virtual_mailbox_maps = texthash:$etc/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
maillog_file_prefixes = $D_DIR
maillog_file = $D_DIR/maillog
alias_maps =
alias_database =
smtpd_banner = \$myhostname ESMTP picocenter-test
biff = no
CONF
	echo "user@picocenter.test user/" >"$etc/vmailbox"
	# Debian's master.cf as installed, with smtpd on our port.
	sed "s/^smtp      inet/127.0.0.1:$port inet/" /etc/postfix/master.cf >"$etc/master.cf"
	grep -q "^127.0.0.1:$port inet .* y .* smtpd" "$etc/master.cf" ||
		d_fail "Debian's master.cf has no chrooted smtpd line to move to port $port"
	postfix -c "$etc" check >"$D_DIR/check.out" 2>&1 || d_fail "postfix check failed"
}

# mail_conf_dovecot PORT: $D_DIR/dovecot.conf, IMAP on 127.0.0.1:PORT,
# Dovecot's default services (anvil chrooted into run/empty, the login
# processes into run/login), base_dir $D_DIR/run.
mail_conf_dovecot() {
	local port=$1
	mail_dirs
	echo "user:{PLAIN}secret" >"$D_DIR/passwd"
	cat >"$D_DIR/dovecot.conf" <<CONF
base_dir = $D_DIR/run
state_dir = $D_DIR/state
log_path = $D_DIR/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:$D_DIR/vmail/%n
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $D_DIR/passwd
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=$D_DIR/vmail/%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
}
CONF
}

# mail_smtp PORT banner|N TOKEN: check the banner, or send mail N.
mail_smtp() { timeout "$D_TIMEOUT" python3 - "$@" <<'PY'
import smtplib, sys
port, what = int(sys.argv[1]), sys.argv[2]
s = smtplib.SMTP(timeout=5)
code, msg = s.connect("127.0.0.1", port)
if what == "banner":
    print(code == 220 and msg.decode().endswith("ESMTP picocenter-test") and
          s.noop()[0] == 250)
else:
    body = "Subject: mail %s\r\nFrom: sender@example.org\r\n\r\ntoken %s\r\n" % (what, sys.argv[3])
    assert s.sendmail("sender@example.org", ["user@picocenter.test"], body) == {}
    print("sent")
s.quit()
PY
}

# mail_imap PORT greeting|append N TOKEN|dump DIR: check the greeting,
# APPEND mail N, or write every message of INBOX (RFC822, as IMAP gives
# it) to DIR/UID.
mail_imap() { timeout "$D_TIMEOUT" python3 - "$@" <<'PY'
import imaplib, os, sys
port, what = int(sys.argv[1]), sys.argv[2]
m = imaplib.IMAP4("127.0.0.1", port)
if what == "greeting":
    print(m.welcome.decode().endswith("Dovecot (Debian) ready."))
    m.logout()
    sys.exit(0)
m.login("user", "secret")
if what == "append":
    body = "Subject: mail %s\r\nFrom: sender@example.org\r\n\r\ntoken %s\r\n" % (sys.argv[3], sys.argv[4])
    typ, _ = m.append("INBOX", None, None, body.encode())
    print(typ)
else:
    out = sys.argv[3]
    typ, _ = m.select("INBOX", readonly=True)
    assert typ == "OK"
    typ, data = m.uid("FETCH", "1:*", "(RFC822)")
    assert typ == "OK"
    n = 0
    for item in data:
        if isinstance(item, tuple):
            uid = item[0].split(b"UID ")[1].split()[0].decode()
            with open(os.path.join(out, uid), "wb") as f:
                f.write(item[1])
            n += 1
    print(n)
m.logout()
PY
}

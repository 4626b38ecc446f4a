#!/bin/bash
# t-netservers.sh - network servers no other serve test runs, boxed with
# --idle 1s --sleep 3s, each answered by its own client before any swap,
# after a nap and after sleeping (all at once, each in a job of its own):
# - HAProxy in master-worker mode (-W -db, as its Docker image runs it: a
#   master and a worker joined by a socketpair), answering HTTP itself
#   (http-request return): curl;
# - unbound (its defaults: it drops to the unbound user, writes its pid
#   file in the box's /run), a local zone, over UDP and TCP: dig;
# - mosquitto: a retained message published after each swap reaches a new
#   subscriber (mosquitto_pub -r, mosquitto_sub);
# - Postfix with Debian's master.cf (smtpd and the others chrooted into
#   the queue, talking over its unix sockets), `postfix start-fg`, with
#   --sleep 1s (its timers revive it within seconds): each time Python's
#   smtplib sends a mail, which virtual(8) delivers to a Maildir in the
#   box's writable layer.
# - PHP-FPM (opcache on), two static workers as www-data, its error_log
#   = /proc/self/fd/2 as Docker images set it (the app's own log, opened
#   again): cgi-fcgi runs a script that counts in a file.
d=$(dirname "$0"); . "$d/lib.sh"
d_need haproxy unbound mosquitto mosquitto_pub mosquitto_sub dig curl postfix python3 cgi-fcgi
FPM=$(ls /usr/sbin/php-fpm* 2>/dev/null | head -1)
[ -x "$FPM" ] || d_fail "php-fpm not installed (scripts/deps.sh installs tests/serve/packages)"
s_init netservers
. "$d/../daemons/mail_lib.sh"
s_ports 5; PH=${S_PORTS[0]} PU=${S_PORTS[1]} PM=${S_PORTS[2]} PP=${S_PORTS[3]} PF2=${S_PORTS[4]}
HP=hp-$$ UB=ub-$$ MQ=mq-$$ PF=pf-$$ FP=fp-$$   # box names are the host's cgroup names too

cat >"$D_DIR/haproxy.cfg" <<CONF
global
	log stdout format raw local0
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend web
	bind :80
	http-request return status 200 content-type text/plain string "haproxy ok"
CONF
s_box_create "$HP" 1s "127.0.0.1:$PH:80" -- --sleep 3s -- haproxy -W -db -f "$D_DIR/haproxy.cfg"
hp_ok() { d_expect "$1" "haproxy ok" curl -sS --max-time 10 "http://127.0.0.1:$PH/"; }

cat >"$D_DIR/unbound.conf" <<CONF
server:
	interface: 0.0.0.0
	port: 53
	access-control: 0.0.0.0/0 allow
	local-zone: "pico.test." static
	local-data: "www.pico.test. IN A 10.9.9.9"
CONF
s_box_create "$UB" 1s "127.0.0.1:$PU:53/udp" "127.0.0.1:$PU:53/tcp" -- --sleep 3s -- \
	unbound -d -c "$D_DIR/unbound.conf"
ub_ok() {
	d_expect "$1 (udp)" 10.9.9.9 dig +short +time=5 +tries=2 @127.0.0.1 -p "$PU" www.pico.test
	d_expect "$1 (tcp)" 10.9.9.9 dig +short +tcp +time=5 +tries=2 @127.0.0.1 -p "$PU" www.pico.test
}

cat >"$D_DIR/mosquitto.conf" <<CONF
listener 1883 0.0.0.0
allow_anonymous true
CONF
s_box_create "$MQ" 1s "127.0.0.1:$PM:1883" -- --sleep 3s -- mosquitto -c "$D_DIR/mosquitto.conf"
# mq_ok DESC: DESC published retained, read back by a new subscriber
mq_ok() {
	timeout 20 mosquitto_pub -h 127.0.0.1 -p "$PM" -t t/x -r -m "$1" || s_fail "$1: publish"
	d_expect "$1" "$1" timeout 20 mosquitto_sub -h 127.0.0.1 -p "$PM" -t t/x -C 1 -W 15
}

# Postfix: the tests/daemons configuration on the box's port 25, every
# address; mail N goes out on the Nth check
mail_conf_postfix 25
sed -i 's/^127.0.0.1:25 inet/smtp      inet/' "$D_DIR/etc/master.cf"
sed -i 's/^inet_interfaces = .*/inet_interfaces = all/; s#^mynetworks = .*#mynetworks = 0.0.0.0/0#' \
	"$D_DIR/etc/main.cf"
s_box_create "$PF" 1s "127.0.0.1:$PP:25" -- --sleep 1s -- postfix -c "$D_DIR/etc" start-fg
BOX_MAILDIR=$S_DIR/boxes/$PF/upper$MAILDIR   # written in the box's layer
N=0
pf_ok() {
	N=$((N + 1))
	d_expect "$1: SMTP banner" True mail_smtp "$PP" banner
	d_expect "$1: mail $N" sent mail_smtp "$PP" "$N" "token-$N-$$"
	d_wait "$1: delivery of mail $N" sh -c "grep -qs '^token token-$N-$$' '$BOX_MAILDIR'/new/*"
}
# logged WHAT: wait (60 s at most) for the daemon to log WHAT of Postfix
logged() {
	local end=$((SECONDS + 60))
	until grep -q "app $PF: $1" "$S_LOG"; do
		[ $SECONDS -ge $end ] && s_fail "$PF: no '$1' in the daemon's log after 60 s"
		sleep 0.2
	done
}
# Postfix's own timers revive it within a few seconds of each swap-out:
# its client checks it after its first swap-out and after it first slept,
# whichever woke it
pf_cycles() {
	pf_ok "$PF before any swap"
	logged "swapped out"
	pf_ok "$PF after a swap-out"
	logged "asleep after"
	pf_ok "$PF after sleeping"
	d_log "$PF: answered through a nap and a sleep"
}

# PHP-FPM: the count of a file in the box's /tmp, whichever worker runs
# the script (opcache keeps it compiled in shared memory)
cat >"$D_DIR/count.php" <<'PHP'
<?php
$f = "/tmp/php-count";
$n = (int)@file_get_contents($f) + 1;
file_put_contents($f, $n);
echo "php n=$n";
PHP
cat >"$D_DIR/fpm.conf" <<CONF
[global]
error_log = /proc/self/fd/2
daemonize = no
[www]
user = www-data
group = www-data
listen = 0.0.0.0:9000
pm = static
pm.max_children = 2
CONF
s_box_create "$FP" 1s "127.0.0.1:$PF2:9000" -- --sleep 3s -- "$FPM" -F -y "$D_DIR/fpm.conf" -d opcache.enable=1
fcgi() {
	SCRIPT_FILENAME="$D_DIR/count.php" REQUEST_METHOD=GET QUERY_STRING= \
		timeout 10 cgi-fcgi -bind -connect "127.0.0.1:$PF2" | tail -n 1
}
NF=0
fp_ok() {
	NF=$((NF + 1))
	d_expect "$1" "php n=$NF" fcgi
}

jobs=()
for c in "$HP hp_ok" "$UB ub_ok" "$MQ mq_ok" "$FP fp_ok"; do
	s_cycles $c &
	jobs+=($!)
done
pf_cycles &
jobs+=($!)
for j in "${jobs[@]}"; do wait "$j" || s_fail "a server's cycles failed (above)"; done
d_log PASS

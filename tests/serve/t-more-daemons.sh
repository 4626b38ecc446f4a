#!/bin/bash
# t-more-daemons.sh - servers the other tests do not run, each boxed under
# the daemon, through swap-outs and revivals driven by their own clients:
# - BIND's named (one UDP and one TCP socket bound to each interface with
#   SO_BINDTODEVICE, link-local IPv6 included): dig over UDP and TCP;
# - mosquitto with a subscriber connected while it swaps out (the dump's
#   trial restore must rebuild a connection from the bridge's address):
#   a message published after each revival reaches the subscriber;
# - Apache (Debian's default site), which looks up its own name at start
#   (the box's /etc/hosts answers it at once): curl.
d=$(dirname "$0"); . "$d/lib.sh"
d_need named dig mosquitto mosquitto_sub mosquitto_pub apache2ctl curl
s_init moredaemons
s_ports 3; PD=${S_PORTS[0]} PM=${S_PORTS[1]} PA=${S_PORTS[2]}
NS=ns-$$ MQ=mq-$$ WEB=web-$$   # box names are the host's cgroup names too

nap() { s_wait_state "$1" napping 30; }

# BIND: the default config (recursion for localhost; the localhost zone)
s_box_create "$NS" 1s "127.0.0.1:$PD:53/udp" "127.0.0.1:$PD:53/tcp" -- /usr/sbin/named -g -u bind
answer() { dig +short +time=5 +tries=2 "$@" @127.0.0.1 -p "$PD" localhost; }
answers() { [ "$(answer "$@")" = 127.0.0.1 ]; }
d_wait "named to load its zones" answers
for c in 1 2; do
	nap "$NS"
	d_expect "named over UDP after swap-out $c" 127.0.0.1 answer
	nap "$NS"
	d_expect "named over TCP after swap-out $c" 127.0.0.1 answer +tcp
	d_log "named: cycle $c ok"
done

# mosquitto, its subscriber connected through every swap
cat >"$D_DIR/mosquitto.conf" <<CONF
listener 1883 0.0.0.0
allow_anonymous true
CONF
s_box_create "$MQ" 1s "127.0.0.1:$PM:1883" -- /usr/sbin/mosquitto -c "$D_DIR/mosquitto.conf"
mosquitto_sub -h 127.0.0.1 -p "$PM" -t "t/#" -v >"$D_DIR/sub.out" 2>&1 &
D_BG_PIDS+=($!)
got() { grep -qx "t/$1 m$1" "$D_DIR/sub.out"; }
# the subscriber is there once a message reaches it
sub_ready() { mosquitto_pub -h 127.0.0.1 -p "$PM" -t t/0 -m m0 && sleep 0.2 && got 0; }
d_wait "the subscriber's first message" sub_ready
for c in 1 2 3; do
	nap "$MQ"
	mosquitto_pub -h 127.0.0.1 -p "$PM" -t "t/$c" -m "m$c" || s_fail "publish after swap-out $c"
	d_wait "message $c at the subscriber" got "$c"
	d_log "mosquitto: cycle $c ok (swaps $(s_field "$MQ" 'a["swaps"]'))"
done

# Apache, Debian's default site
s_box_create "$WEB" 1s "127.0.0.1:$PA:80" -- /usr/sbin/apache2ctl -D FOREGROUND
page() { curl -s --max-time 10 "http://127.0.0.1:$PA/" | grep -o "Apache2 Debian Default Page" | head -1; }
d_expect "apache before any swap" "Apache2 Debian Default Page" page
for c in 1 2; do
	nap "$WEB"
	d_expect "apache after swap-out $c" "Apache2 Debian Default Page" page
done
d_log PASS

#!/bin/bash
# t-ipv6.sh - a box's IPv6 (box/addr6.c, nft.c, hold.c): python3's web
# server bound to [::] in a box answers on the box's IPv6 address and
# through a published port on the host's IPv6 address (the bridge's), and
# on 127.0.0.1 as before; its name resolves to its IPv6 address too
# (/etc/hosts); a port published on one IPv6 host address
# ("[ADDR]:HOSTPORT:APPPORT") answers there only.  Egress over IPv6 goes
# out masqueraded to a peer network namespace of the test's own, and not
# from a --no-egress box.  From inside a box, as its app, the other box's
# IPv6 address, a host service on the bridge's IPv6 and link-local
# addresses are out of reach.  Three dump/restore cycles: into the kept
# box, into the box woken by the first-packet hold (the IPv6 SYN is held),
# and into a box made again after `box rm` (same addresses).  `box rm`
# leaves nothing of either family.
d=$(dirname "$0"); . "$d/lib.sh"
b_need python3 curl nsenter
b_init ipv6
P1=$(b_port)
P2=$(b_port)
HP=$(b_port)
WWW=/srv/pc-v6-$$
OUT=bno$$                        # the peer's netns, its veth's host end:
OV=bnov$$
ONET=fd62:6e00:0:$(printf '%x' $(($$ % 65536)))
cleanup_v6() {
	ip netns del "$OUT" 2>/dev/null
	ip link del "$OV" 2>/dev/null
	b_hold_cleanup "$B_DIR"/hold.out
	b_cleanup
}
trap cleanup_v6 EXIT

b_spawn web --port "$P1:8000" -- sh -c "mkdir -p $WWW && echo v6-page > $WWW/a.txt && cd $WWW && exec python3 -m http.server --bind :: 8000" ||
	b_fail "spawn of the web box failed"
PID=$B_PID
N=web-$$
A4=$(b_addr web)
A6=$(b_addr6 web)
[[ $A6 == "$B_NET6"* ]] || b_fail "box ls shows no IPv6 address of $B_NET6:/64: '$A6'"
BR6=$(ip -6 -o addr show dev "$B_BRIDGE" scope global | awk '{ print $4 }' | cut -d/ -f1)
[[ $BR6 == "$B_NET6"* ]] || b_fail "the bridge has no IPv6 address of $B_NET6:/64: '$BR6'"
LL=$(ip -6 -o addr show dev "$B_BRIDGE" scope link | awk '{ print $4 }' | cut -d/ -f1)
grep -q "^addr6=$A6\$" "$B_BOXES/$N/config" || b_fail "the record lacks addr6=$A6"

get() { curl -sS --fail --max-time 5 -g "http://$1/a.txt"; }
check_web() {
	local w=$1
	[ "$(get "[$A6]:8000")" = v6-page ] || b_fail "$w: no page from [$A6]:8000"
	[ "$(get "[$BR6]:$P1")" = v6-page ] || b_fail "$w: no page from the published [$BR6]:$P1"
	[ "$(get "127.0.0.1:$P1")" = v6-page ] || b_fail "$w: no page from 127.0.0.1:$P1"
	[ "$(b_addr6 web)" = "$A6" ] && [ "$(b_addr web)" = "$A4" ] || b_fail "$w: addresses changed"
	nsenter -t "$B_PID" -n ip -6 route show default | grep -q "via $BR6" ||
		b_fail "$w: no IPv6 default route via $BR6"
	b_in "$B_PID" getent ahosts "$N" | grep -q "^$A6 " ||
		b_fail "$w: its name does not resolve to $A6 in the box: $(b_in "$B_PID" cat /etc/hosts)"
}
b_wait "the web server on [$A6]:8000" get "[$A6]:8000"
check_web "spawned"

# a port published on the bridge's IPv6 address only
b_spawn pub --port "[$BR6]:$P2:8000" -- python3 -m http.server --bind :: 8000 ||
	b_fail "spawn with --port [$BR6]:$P2:8000 failed"
b_wait "the published [$BR6]:$P2" curl -sS --fail --max-time 2 -g -o /dev/null "http://[$BR6]:$P2/"
curl -sS --max-time 2 -o /dev/null "http://127.0.0.1:$P2/" 2>/dev/null &&
	b_fail "a port published on [$BR6] answers on 127.0.0.1"
grep -q "^port=\[$BR6\]:$P2:8000/tcp\$" "$B_BOXES/pub-$$/config" || b_fail "the record lacks the IPv6 port"
b_log "published ports answer on [$A6]:8000, [$BR6]:$P1, 127.0.0.1:$P1 and [$BR6]:$P2 only"

# egress: a peer network namespace, reached through the host
ip netns add "$OUT" || b_fail "ip netns add"
ip link add "$OV" type veth peer name eth0 netns "$OUT" || b_fail "veth for the peer"
ip -6 addr add "$ONET::1/64" dev "$OV" nodad && ip link set "$OV" up || b_fail "host end of the peer's veth"
ip -n "$OUT" -6 addr add "$ONET::2/64" dev eth0 nodad && ip -n "$OUT" link set eth0 up &&
	ip -n "$OUT" link set lo up || b_fail "the peer's network"
ip netns exec "$OUT" python3 -c "
import socket
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('::', 9000)); s.listen()
while True:
    c, a = s.accept(); c.sendall((a[0] + '\n').encode()); c.close()" &
B_PIDS+=($!)
from_box() { nsenter -t "$PID" -n python3 -c "
import socket
s = socket.create_connection(('$ONET::2', 9000), timeout=2); print(s.recv(100).decode().strip())"; }
b_wait "the peer's service from the web box" from_box
seen=$(from_box)
[ "$seen" = "$ONET::1" ] || b_fail "egress not masqueraded: the peer saw '$seen', not $ONET::1"
b_log "egress over IPv6: the peer saw $seen"

# a host service on the bridge, reachable from the host (so blocked means blocked)
python3 -c "
import socket, time
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('::', $HP)); s.listen(64)
while True:
    c, a = s.accept(); c.close()" &
B_PIDS+=($!)
b_wait "the host service on [$BR6]:$HP" python3 -c "import socket; socket.create_connection(('$BR6', $HP), timeout=1)"
b_wait "the host service on [$LL%$B_BRIDGE]:$HP" python3 -c "import socket; socket.create_connection(('$LL%$B_BRIDGE', $HP), timeout=1)"

# the attacker: a --no-egress box whose app tries each target (and again on SIGUSR1)
b_spawn attacker --no-egress -- python3 "$ROOT/tests/box/attack.py" tcp6 "other-box=$A6=8000" \
	"host-on-bridge=$BR6=$HP" "host-link-local=$LL%eth0=$HP" "egress=$ONET::2=9000" ||
	b_fail "spawn of the attacker failed"
ATT=$B_PID
LOG=$B_DIR/attacker-$$.log
rounds_done() { [ "$(grep -c '^DONE' "$LOG")" -ge "$1" ]; }
verdicts() {
	local n
	b_wait "round $1 of attempts" rounds_done "$1"
	grep -q ESCAPED "$LOG" && b_fail "escaped: $(grep ESCAPED "$LOG")"
	for n in other-box host-on-bridge host-link-local egress; do
		[ "$(grep -c "^blocked $n\$" "$LOG")" -ge "$1" ] || b_fail "no verdict for $n in round $1"
	done
	b_log "round $1: the other box, the host on the bridge (global, link-local) and egress blocked over IPv6"
}
verdicts 1

# cycle 1: into the kept box
b_cycle web "$PID" "$B_DIR/img"
PID=$B_PID
check_web "cycle 1 (kept box)"
b_cycle attacker "$ATT" "$B_DIR/imga"
ATT=$B_PID
kill -USR1 "$ATT"
verdicts 2

# cycle 2: asleep, woken by the first-packet hold on an IPv6 SYN
rm -rf "$B_DIR/img"
"$PICOCENTER" cr dump --pid "$PID" --dir "$B_DIR/img" --box-dir "$B_BOXES" || b_fail "dump 2"
for _ in $(seq 100); do [ -d "/proc/$PID" ] || break; sleep 0.02; done
"$PICOCENTER" box sleep --box-dir "$B_BOXES" "$N" || b_fail "box sleep"
b_hold_start "$N" "$B_DIR/img" ip6 1 "$B_DIR/hold.out" "$B_DIR/pid2"
hold=$B_HOLD
page=$(get "[$BR6]:$P1") || b_fail "no page through the hold: $(cat "$B_DIR/hold.out.log")"
[ "$page" = v6-page ] || b_fail "wrong page through the hold: '$page'"
wait "$hold" || b_fail "box hold failed: $(cat "$B_DIR/hold.out.log")"
grep -q "^held 1\$" "$B_DIR/hold.out" || b_fail "not one packet held: $(cat "$B_DIR/hold.out")"
B_PID=$(cat "$B_DIR/pid2")
B_PIDS+=("$B_PID")
PID=$B_PID
check_web "cycle 2 (held, woken)"
q=$(awk '$1 == "armed" { print $2 }' "$B_DIR/hold.out")
nft list chain ip6 picocenter_hold "hold_$q" >/dev/null 2>&1 && b_fail "the hold's IPv6 chain is left"

# cycle 3: the box removed, made again from the image
rm -rf "$B_DIR/img"
"$PICOCENTER" cr dump --pid "$PID" --dir "$B_DIR/img" --box-dir "$B_BOXES" || b_fail "dump 3"
for _ in $(seq 100); do [ -d "/proc/$PID" ] || break; sleep 0.02; done
"$PICOCENTER" box rm --box-dir "$B_BOXES" "$N" || b_fail "box rm before cycle 3"
b_leftovers "$N"
nft list table ip6 picocenter | grep -qF "$A6" && b_fail "box rm left $A6 in nftables"
B_PID=$("$PICOCENTER" cr restore --dir "$B_DIR/img" --box-dir "$B_BOXES") || b_fail "restore 3"
B_PIDS+=("$B_PID")
PID=$B_PID
check_web "cycle 3 (made again)"

"$PICOCENTER" box rm --box-dir "$B_BOXES" "$N" "pub-$$" "attacker-$$" || b_fail "box rm"
for n in "$N" "pub-$$" "attacker-$$"; do b_leftovers "$n"; done
b_log PASS

#!/bin/bash
# t-forward.sh - boxes and other machines (box/forward.c): a client
# network namespace of the test's own, behind a veth to the host (not the
# bridge), reaches a box's published port on the host's address of that
# link, over IPv4 and IPv6; the box reaches a server in that namespace
# (egress: its replies come in on the veth, not the bridge), masqueraded,
# over both.  A host that forwarded nothing forwards for boxes only: a
# second client namespace cannot reach the first through the host.
d=$(dirname "$0"); . "$d/lib.sh"
b_need python3 curl nsenter
b_init forward
P=$(b_port)
C1=bnc1$$ C2=bnc2$$ V1=bnv1$$ V2=bnv2$$
N4=100.65.$(($$ / 64 % 256)).$(($$ % 64 * 4))
H1=${N4%.*}.$((${N4##*.} + 1)) A1=${N4%.*}.$((${N4##*.} + 2))
N4B=100.66.$(($$ / 64 % 256)).$(($$ % 64 * 4))
H2=${N4B%.*}.$((${N4B##*.} + 1)) A2=${N4B%.*}.$((${N4B##*.} + 2))
N6=fd62:6e01:0:$(printf '%x' $(($$ % 65536)))
N6B=fd62:6e02:0:$(printf '%x' $(($$ % 65536)))
cleanup_fwd() {
	ip netns del "$C1" 2>/dev/null
	ip netns del "$C2" 2>/dev/null
	ip link del "$V1" 2>/dev/null
	ip link del "$V2" 2>/dev/null
	b_cleanup
}
trap cleanup_fwd EXIT
fwd4_before=$(cat /proc/sys/net/ipv4/ip_forward)
[ -e /run/picocenter/forwarding-ipv4 ] && fwd4_before=0   # turned on by picocenter

b_spawn web --port "$P:8000" -- python3 -m http.server --bind :: 8000 || b_fail "spawn failed"
PID=$B_PID

# client NS V NET HOSTADDR ADDR NET6: a namespace behind a veth to the host
client() {
	ip netns add "$1" || b_fail "ip netns add $1"
	ip link add "$2" type veth peer name eth0 netns "$1" || b_fail "veth $2"
	ip addr add "$3/30" dev "$2" && ip -6 addr add "$5::1/64" dev "$2" nodad &&
		ip link set "$2" up || b_fail "host end of $2"
	ip -n "$1" addr add "$4/30" dev eth0 && ip -n "$1" -6 addr add "$5::2/64" dev eth0 nodad &&
		ip -n "$1" link set eth0 up && ip -n "$1" link set lo up &&
		ip -n "$1" route add default via "$3" && ip -n "$1" -6 route add default via "$5::1" ||
		b_fail "the network of $1"
}
client "$C1" "$V1" "$H1" "$A1" "$N6"
client "$C2" "$V2" "$H2" "$A2" "$N6B"

# published port, from the other machine
for u in "$H1:$P" "[$N6::1]:$P"; do
	b_wait "the published port at $u from $C1" \
		ip netns exec "$C1" curl -sS --fail --max-time 2 -g -o /dev/null "http://$u/"
done
b_log "published port answers $C1 on $H1:$P and [$N6::1]:$P"

# egress to the other machine: a server there says who called
ip netns exec "$C1" python3 -c "
import socket, threading
def serve(fam, addr):
    s = socket.socket(fam); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, 9000)); s.listen()
    while True:
        c, a = s.accept(); c.sendall((a[0] + '\n').encode()); c.close()
threading.Thread(target=serve, args=(socket.AF_INET6, '::'), daemon=True).start()
serve(socket.AF_INET, '0.0.0.0')" &
B_PIDS+=($!)
who() { nsenter -t "$PID" -n python3 -c "
import socket
s = socket.create_connection(('$1', 9000), timeout=2); print(s.recv(100).decode().strip())"; }
for a in "$A1" "$N6::2"; do
	b_wait "egress from the box to $a" who "$a"
done
[ "$(who "$A1")" = "$H1" ] || b_fail "IPv4 egress not masqueraded: $(who "$A1")"
[ "$(who "$N6::2")" = "$N6::1" ] || b_fail "IPv6 egress not masqueraded: $(who "$N6::2")"
b_log "egress reaches $C1 over IPv4 and IPv6, masqueraded"

# the host forwards for boxes only (if it forwarded nothing before picocenter)
if [ "$fwd4_before" = 0 ]; then
	ip netns exec "$C1" python3 -c "
import socket, sys
for a in ('$A2', '$N6B::2'):
    try:
        socket.create_connection((a, 9), timeout=1); sys.exit('connected to ' + a)
    except ConnectionRefusedError:
        sys.exit('reached ' + a + ' through the host (refused there)')
    except OSError:
        pass" || b_fail "$C1 -> $C2 through the host: forwarded for others"
	[ -e /run/picocenter/forwarding-ipv4 ] || b_fail "no mark of picocenter's forwarding"
	b_log "$C1 cannot reach $C2 through the host"
else
	b_log "NOT CHECKED: the host forwarded IPv4 before picocenter, so it forwards for others too"
fi
"$PICOCENTER" box rm --box-dir "$B_BOXES" "web-$$" || b_fail "box rm"
b_leftovers "web-$$"
b_log PASS

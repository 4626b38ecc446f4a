#!/bin/bash
# t-mcast.sh - multicast memberships of UDP sockets (cr/inet_mcast.c): a
# receiver in a network namespace of the test's own joined three groups
# on its veth: 239.77.1.1 with IP_ADD_MEMBERSHIP, 232.77.1.1 from one
# source only with IP_ADD_SOURCE_MEMBERSHIP, ff15::77:1 with
# IPV6_JOIN_GROUP, and 239.77.1.4 on a dual-stack IPv6 socket with
# IP_ADD_MEMBERSHIP, and set IP_MULTICAST_TTL 5, IP_MULTICAST_LOOP 0,
# IPV6_MULTICAST_HOPS 7 and IPV6_MULTICAST_IF.  A sender in a second
# namespace, at the veth's other end, sends to each group (and to the
# source-specific one from another source first, which must be
# filtered out); the receiver gets every datagram, with its options,
# before and after each of 3 dump/restore cycles (one verified).  The
# whole tree runs, is dumped and restored in the receiver's namespace.
. "$(dirname "$0")/lib.sh"
cr_workdir mcast
command -v python3 >/dev/null || cr_fail "python3 not installed"
NR=pcmc-r-$$ NS=pcmc-s-$$ VA=mca$$ VB=mcb$$
NET=10.250.$(($$ % 250)) NET6=fd70:6d63:$(printf '%x' $(($$ % 65536)))::
REAL=$PICOCENTER
ns_cleanup() {
	ip netns del "$NR" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	return 0
}
trap 'cr_cleanup; ns_cleanup' EXIT
ip netns add "$NR" && ip netns add "$NS" || cr_fail "ip netns add"
ip link add "$VA" netns "$NR" type veth peer name "$VB" netns "$NS" || cr_fail "veth"
for n in "$NR" "$NS"; do
	ip -n "$n" link set lo up
done
ip -n "$NR" addr add "$NET.1/24" dev "$VA"
ip -n "$NR" addr add "${NET6}1/64" dev "$VA" nodad
ip -n "$NS" addr add "$NET.2/24" dev "$VB"
ip -n "$NS" addr add "$NET.3/24" dev "$VB"
ip -n "$NS" addr add "${NET6}2/64" dev "$VB" nodad
ip -n "$NR" link set "$VA" up && ip -n "$NS" link set "$VB" up || cr_fail "links up"
# (the kernel adds it too once the link has its carrier: not waited for)
ip -n "$NS" -6 route add multicast ff00::/8 dev "$VB" table local || cr_fail "multicast route"
# every picocenter call of lib.sh runs in the receiver's namespace
cat >"$CR_W/pc" <<SH
#!/bin/sh
exec ip netns exec $NR $REAL "\$@"
SH
chmod +x "$CR_W/pc"
PICOCENTER=$CR_W/pc

cat >"$CR_W/app.py" <<'PY'
import select, socket, struct, sys
dev, src = sys.argv[1], sys.argv[2]
idx = socket.if_nametoindex(dev)
def udp(fam, port):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", port))
    return s
r4 = udp(socket.AF_INET, 5001)
r4.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
              struct.pack("4s4si", socket.inet_aton("239.77.1.1"), b"\0" * 4, idx))
r4.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 5)
r4.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
s4 = udp(socket.AF_INET, 5002)
IP_ADD_SOURCE_MEMBERSHIP = 39
local = socket.inet_aton(sys.argv[3])
s4.setsockopt(socket.IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP,
              socket.inet_aton("232.77.1.1") + local + socket.inet_aton(src))
r6 = udp(socket.AF_INET6, 5003)
r6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
              socket.inet_pton(socket.AF_INET6, "ff15::77:1") + struct.pack("I", idx))
r6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 7)
d6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)   # dual-stack, an IPv4 group
d6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
d6.bind(("::", 5004))
d6.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
              struct.pack("4s4si", socket.inet_aton("239.77.1.4"), b"\0" * 4, idx))
r6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
def opts():
    return "ttl=%d loop=%d hops=%d mcif=%s" % (
        r4.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL),
        r4.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP),
        r6.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS),
        socket.if_indextoname(r6.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF)))
names = {r4: "r4", s4: "s4", r6: "r6", d6: "d6"}
print("READY", flush=True)
while True:
    for s in select.select(list(names), [], [])[0]:
        d = s.recv(100).decode()
        print("GOT %s %s %s" % (names[s], d, opts()), flush=True)
PY

# send N: from the sender's namespace, "bad-N" to the source-specific
# group from the other source, then "ping-N" to each group.
send() {
	ip netns exec "$NS" python3 - "$1" "$NET" "$NET6" "$VB" <<'PY' || cr_fail "send $1"
import socket, sys
n, net, net6, dev = sys.argv[1:]
def v4(src, group, port, what):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
    s.sendto(("%s-%s" % (what, n)).encode(), (group, port))
v4(net + ".3", "232.77.1.1", 5002, "bad")
v4(net + ".2", "232.77.1.1", 5002, "ping")
v4(net + ".2", "239.77.1.1", 5001, "ping")
v4(net + ".2", "239.77.1.4", 5004, "ping")
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind((net6 + "2", 0))
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex(dev))
s.sendto(("ping-%s" % n).encode(), ("ff15::77:1", 5003))
PY
}

# expect N: the receiver got ping-N on each socket, with its options, and
# no bad-N.
expect() {
	local s want
	send "$1"
	for s in r4 s4 r6 d6; do
		want="GOT $s ping-$1 ttl=5 loop=0 hops=7 mcif=$VA"
		for _ in $(seq 500); do grep -qxF "$want" "$CR_LOG" && break; sleep 0.01; done
		grep -qxF "$want" "$CR_LOG" ||
			cr_fail "no '$want' (got: $(grep "^GOT $s" "$CR_LOG" | tail -n 2))"
	done
	grep -q "bad-$1" "$CR_LOG" && cr_fail "the source filter let bad-$1 in"
	cr_log "round $1: every group received"
}

CR_LOG=$CR_W/log
CR_PID=$("$PICOCENTER" cr spawn --log "$CR_LOG" -- /usr/bin/python3 "$CR_W/app.py" "$VA" "$NET.2" "$NET.1") ||
	cr_fail "spawn"
CR_ALL_PIDS+=("$CR_PID")
for _ in $(seq 500); do grep -q READY "$CR_LOG" && break; sleep 0.01; done
grep -q READY "$CR_LOG" || cr_fail "the receiver did not start"
expect 0
for n in 1 2 3; do
	if [ $n = 2 ]; then cr_dump "$CR_W/img.$n" --verify; else cr_dump "$CR_W/img.$n"; fi
	cr_restore "$CR_W/img.$n"
	expect "$n"
done
cr_finish

#!/bin/bash
# t-mcast.sh - a boxed app's multicast memberships (cr/inet_mcast.c): a
# receiver joined to 239.77.2.1 and ff15::77:2 on the box's eth0 gets
# what the host sends to each group on the test's bridge, after a cycle
# into the kept box, one with the box asleep in between (its network
# namespace and eth0 made again) and one into a box made again in an
# empty box dir.
d=$(dirname "$0"); . "$d/lib.sh"
b_need python3
b_init mcast
N=mc-$$
LOG=$B_DIR/$N.log

cat >"$B_DIR/app.py" <<'PY'
import select, socket, struct
idx = socket.if_nametoindex("eth0")
r4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r4.bind(("0.0.0.0", 5001))
r4.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
              struct.pack("4s4si", socket.inet_aton("239.77.2.1"), b"\0" * 4, idx))
r6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
r6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
r6.bind(("::", 5002))
r6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
              socket.inet_pton(socket.AF_INET6, "ff15::77:2") + struct.pack("I", idx))
print("READY", flush=True)
while True:
    for s in select.select([r4, r6], [], [])[0]:
        print("GOT %s %s" % ("r6" if s is r6 else "r4", s.recv(100).decode()), flush=True)
PY

# send N: from the host, on the test's bridge, to both groups.
send() {
	python3 - "$1" "$B_NET.1" "$B_BRIDGE" <<'PY' || b_fail "send $1"
import socket, sys
n, addr, br = sys.argv[1:]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(addr))
s.sendto(("ping-%s" % n).encode(), ("239.77.2.1", 5001))
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex(br))
s.sendto(("ping-%s" % n).encode(), ("ff15::77:2", 5002))
PY
}

# expect N WHEN: the receiver got ping-N on both sockets.
expect() {
	local s
	send "$1"
	for s in r4 r6; do
		for _ in $(seq 300); do grep -qx "GOT $s ping-$1" "$LOG" && break; sleep 0.01; done
		grep -qx "GOT $s ping-$1" "$LOG" ||
			b_fail "$2: $s did not get ping-$1 (last: $(grep "^GOT $s" "$LOG" | tail -n 1))"
	done
	b_log "$2: both groups received"
}

b_spawn mc -- python3 "$B_DIR/app.py" || b_fail "spawn"
PID=$B_PID
b_wait "the receiver" grep -q READY "$LOG"
expect 0 "before any dump"
b_cycle mc "$PID" "$B_DIR/img"
PID=$B_PID
expect 1 "kept box"
sleep_box() { "$PICOCENTER" box sleep --box-dir "$B_BOXES" "$N"; }
B_BETWEEN=sleep_box b_cycle mc "$PID" "$B_DIR/img"
PID=$B_PID
expect 2 "box asleep in between"
b_cycle_moved mc "$PID" "$B_DIR/img"
PID=$B_PID
expect 3 "box made again in an empty box dir"
b_done "$N"

#!/bin/bash
# t-bindtodevice.sh - sockets bound to an interface (SO_BINDTODEVICE, as
# BIND's named binds one UDP and one TCP socket per interface) keep their
# interface through 2 verified dump/restore cycles: a UDP socket and a
# TCP listener bound to lo answer after each restore, and the restored
# sockets still report lo.  `cr inspect` names the interface.  (A dump of
# such a socket failed: "SO_BINDTODEVICE is set: not carried".)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inet_lib.sh"
cr_workdir bindtodevice
uport=$(inet_port) tport=$(inet_port)

cat >"$CR_W/app.py" <<'PY'
import select, socket, sys
up, tp = int(sys.argv[1]), int(sys.argv[2])
def dev(s):
    return s.getsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, 16).rstrip(b"\0").decode()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
u.bind(("127.0.0.1", up))
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
t.bind(("127.0.0.1", tp)); t.listen(4)
print("READY", flush=True)
while True:
    r, _, _ = select.select([u, t], [], [])
    if u in r:
        d, a = u.recvfrom(100)
        u.sendto(b"udp on " + dev(u).encode(), a)
    if t in r:
        c, _ = t.accept()
        c.sendall(b"tcp on " + dev(t).encode())
        c.close()
PY
ask() {
	python3 - "$uport" "$tport" <<'PY'
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(10)
u.sendto(b"?", ("127.0.0.1", int(sys.argv[1])))
a = u.recv(100).decode()
b = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=10).recv(100).decode()
print(a + ", " + b)
PY
}
PID=$("$PICOCENTER" cr spawn --log "$CR_W/log" -- /usr/bin/python3 "$CR_W/app.py" "$uport" "$tport") ||
	cr_fail "spawn"
CR_ALL_PIDS+=("$PID")
CR_LOG=$CR_W/log CR_PID=$PID
for _ in $(seq 500); do grep -q READY "$CR_W/log" && break; sleep 0.01; done
[ "$(ask)" = "udp on lo, tcp on lo" ] || cr_fail "before any dump: $(ask)"
for n in 1 2; do
	cr_dump "$CR_W/img.$n" --verify
	"$PICOCENTER" cr inspect --dir "$CR_W/img.$n" >"$CR_W/inspect.$n" || cr_fail "cr inspect"
	[ "$(grep -c "127.0.0.1:[0-9]* on lo" "$CR_W/inspect.$n")" = 2 ] ||
		cr_fail "cr inspect does not name lo for both sockets: $(grep -E "udp|tcp" "$CR_W/inspect.$n")"
	cr_restore "$CR_W/img.$n"
	got=$(ask)
	[ "$got" = "udp on lo, tcp on lo" ] || cr_fail "after cycle $n: '$got'"
	cr_log "cycle $n: $got"
done
cr_log PASS

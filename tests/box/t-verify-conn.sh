#!/bin/bash
# t-verify-conn.sh - a boxed echo server with a client connected through
# its published port (host -> DNAT -> the box's address), through 2
# verified dump/restore cycles (`cr dump --verify`).  The trial restore
# runs in a network namespace that has none of the box's addresses: the
# connection from the bridge's address to the box's must still rebuild
# there (it failed with "connect (repair) to the old peer: Network is
# unreachable", and serve could never swap out an app with a client).
# After each cycle the client's connection echoes again.
d=$(dirname "$0"); . "$d/lib.sh"
b_need python3 nsenter
b_init verify-conn
HP=$(b_port)
cat >"$B_DIR/echo.py" <<'PY'
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 7000)); l.listen(4)
c, _ = l.accept()
while True:
    d = c.recv(100)
    if not d:
        break
    c.sendall(d)
PY
cat >"$B_DIR/client.py" <<'PY'
import os, socket, sys, time
port, w = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=20)
for n in range(3):
    while not os.path.exists("%s/go.%d" % (w, n)):
        time.sleep(0.01)
    s.sendall(b"ping%d" % n)
    print("ECHO %d %s" % (n, s.recv(100).decode()), flush=True)
PY
b_spawn echo --port "127.0.0.1:$HP:7000" -- python3 "$B_DIR/echo.py" || b_fail "spawn in a box failed"
PID=$B_PID
listening() { b_in "$PID" grep -q ":1B58 00000000:0000 0A" /proc/net/tcp; }
b_wait "the echo server in its box" listening
python3 "$B_DIR/client.py" "$HP" "$B_DIR" >"$B_DIR/client.out" 2>&1 &
CLIENT=$!
B_PIDS+=("$CLIENT")
echoed() { grep -q "^ECHO $1 ping$1\$" "$B_DIR/client.out"; }
touch "$B_DIR/go.0"
b_wait "the first echo" echoed 0
B_DUMP_ARGS=--verify
for c in 1 2; do
	b_cycle echo "$PID" "$B_DIR/img"
	PID=$B_PID
	touch "$B_DIR/go.$c"
	b_wait "the echo after cycle $c" echoed "$c"
	b_log "cycle $c: verified, restored as pid $PID, the connection echoes"
done
b_log PASS

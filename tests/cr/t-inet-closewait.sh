#!/bin/bash
# t-inet-closewait.sh - a TCP connection caught half-closed: the peer has
# closed, the app has not yet (CLOSE_WAIT).  An app that closes it 0.3 s
# later is dumped once it has (the dump retries, backing off); an app that
# never closes it makes the dump fail after its tries, naming the state,
# with the tree left running and DIR left empty.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inet_lib.sh"
cr_workdir inet-closewait

# app PORT DELAY: accept one connection; when the peer has closed it, wait
# DELAY seconds (or forever: -1) before closing it too.
cat >"$CR_W/app.py" <<'PY'
import socket, sys, time
port, delay = int(sys.argv[1]), float(sys.argv[2])
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port)); l.listen(1)
print("READY", flush=True)
c, _ = l.accept()
while c.recv(100):
    pass
print("EOF", flush=True)
if delay < 0:
    time.sleep(100000)
time.sleep(delay)
c.close()
print("CLOSED", flush=True)
time.sleep(100000)
PY

# start DELAY: spawn the app, connect and close; sets PID once it saw EOF.
start() {
	local port i
	port=$(inet_port)
	: >"$CR_W/log"
	PID=$("$PICOCENTER" cr spawn --log "$CR_W/log" -- /usr/bin/python3 "$CR_W/app.py" "$port" "$1") ||
		cr_fail "spawn"
	CR_ALL_PIDS+=("$PID")
	for i in $(seq 500); do grep -q READY "$CR_W/log" && break; sleep 0.01; done
	python3 -c "import socket; s = socket.create_connection(('127.0.0.1', $port)); s.close()" ||
		cr_fail "connect"
	for i in $(seq 500); do grep -q EOF "$CR_W/log" && break; sleep 0.01; done
	grep -q EOF "$CR_W/log" || cr_fail "the app did not see the peer close"
}

start 0.3
t0=$(date +%s%N)
"$PICOCENTER" cr dump --pid "$PID" --dir "$CR_W/img1" 2>"$CR_W/err1" ||
	cr_fail "dump while the app closes within 0.3 s: $(cat "$CR_W/err1")"
ms=$((($(date +%s%N) - t0) / 1000000))
grep -q CLOSED "$CR_W/log" || cr_fail "dumped before the app closed the connection"
cr_log "dumped after the app closed the connection ($ms ms, retrying meanwhile)"
new=$("$PICOCENTER" cr restore --dir "$CR_W/img1") || cr_fail "restore"
CR_ALL_PIDS+=("$new")
cr_alive "$new" || cr_fail "restored app not running"

start -1
if "$PICOCENTER" cr dump --pid "$PID" --dir "$CR_W/img2" 2>"$CR_W/err2"; then
	cr_fail "a dump with a connection in CLOSE_WAIT for good succeeded"
fi
cat "$CR_W/err2"
grep -q "CLOSE_WAIT" "$CR_W/err2" || cr_fail "the message does not name the state"
grep -q "tries" "$CR_W/err2" || cr_fail "the message does not say it retried"
cr_alive "$PID" || cr_fail "the tree died with the failed dump"
[ -z "$(ls -A "$CR_W/img2" 2>/dev/null)" ] || cr_fail "the failed dump left files in DIR"
cr_log "PASS"

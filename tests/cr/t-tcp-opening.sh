#!/bin/bash
# t-tcp-opening.sh - a TCP connection caught opening (SYN_SENT: its SYN is
# dropped because the listener's accept queue is full) is not carried: the
# dump tries again for about a second, since such states usually settle
# within milliseconds, then fails naming the state and that it retried,
# with the tree left running and DIR left empty.  (Closing states are
# carried: t-tcp-closing.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inet_lib.sh"
cr_workdir tcp-opening
port=$(inet_port)
cat >"$CR_W/app.py" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
l = socket.socket(); l.bind(("127.0.0.1", port)); l.listen(0)
a = socket.create_connection(("127.0.0.1", port))   # fills the accept queue
b = socket.socket(); b.setblocking(False)
try:
    b.connect(("127.0.0.1", port))                   # its SYN is dropped
except BlockingIOError:
    pass
time.sleep(0.2)
print("STATE %d" % b.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0], flush=True)
time.sleep(100000)
PY
PID=$("$PICOCENTER" cr spawn --log "$CR_W/log" -- /usr/bin/python3 "$CR_W/app.py" "$port") ||
	cr_fail "spawn"
CR_ALL_PIDS+=("$PID")
CR_LOG=$CR_W/log CR_PID=$PID
cr_wait_line "STATE 2" 1 || cr_fail "no connection in SYN_SENT: $(cat "$CR_W/log")"
t0=$(date +%s%N)
if "$PICOCENTER" cr dump --pid "$PID" --dir "$CR_W/img" 2>"$CR_W/err"; then
	cr_fail "a dump with a connection in SYN_SENT succeeded"
fi
ms=$((($(date +%s%N) - t0) / 1000000))
cat "$CR_W/err"
grep -q "SYN_SENT" "$CR_W/err" || cr_fail "the message does not name the state"
grep -q "tries" "$CR_W/err" || cr_fail "the message does not say it retried"
[ "$ms" -ge 500 ] || cr_fail "the dump gave up after $ms ms without retrying"
cr_alive "$PID" || cr_fail "the tree died with the failed dump"
[ -z "$(ls -A "$CR_W/img" 2>/dev/null)" ] || cr_fail "the failed dump left files in DIR"
cr_log "refused after $ms ms of tries; PASS"

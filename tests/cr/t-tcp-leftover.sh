#!/bin/bash
# t-tcp-leftover.sh - a connection of the image whose addresses a leftover
# socket of an earlier run still has (TIME_WAIT, no process) is restored:
# the leftover is destroyed.  If a live process holds those addresses, the
# restore fails with a clear message and leaves no process behind; once
# that process is gone, the same image restores.
. "$(dirname "$0")/lib.sh"
cr_start tcp-leftover streams
cr_check 0
conn=$(ss -tnpH state established | grep "pid=$CR_PID," | head -1)
read -r _ _ local peer _ <<<"$conn"
lport=${local##*:}
pport=${peer##*:}
[ -n "$lport" ] && [ -n "$pport" ] || cr_fail "no TCP connection of pid $CR_PID in ss: '$conn'"
cr_log "the tree's connection: 127.0.0.1:$lport -> 127.0.0.1:$pport"
cr_dump "$CR_W/img"
"$PICOCENTER" cr inspect --dir "$CR_W/img" |
	grep -q "tcp4 established 127.0.0.1:$lport -> 127.0.0.1:$pport\$" ||
	cr_fail "cr inspect does not show the connection"

# take_addresses MODE: a connection 127.0.0.1:lport -> 127.0.0.1:pport made
# by python; MODE timewait: closed at once (it stays in TIME_WAIT), hold:
# kept open for 30 s.  Prints "ready" to $CR_W/taken when done.
# The kernel lets a connect() take over a TIME_WAIT socket on loopback
# once a second of CLOCK_MONOTONIC has begun since its last segment, so
# the close happens at the start of a second and the restore follows at
# once: only picocenter's eviction lets that restore through.
take_addresses() {
	rm -f "$CR_W/taken"
	python3 -c '
import socket, sys, time
lport, pport, mode, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", pport)); l.listen(1)
c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
c.bind(("127.0.0.1", lport)); c.connect(("127.0.0.1", pport))
a, _ = l.accept(); l.close()
if mode == "timewait":
    while time.monotonic() % 1 > 0.02:
        time.sleep(0.005)
    c.close(); a.close(); time.sleep(0.01)
open(out, "w").write("ready\n")
if mode == "hold":
    time.sleep(30)' "$lport" "$pport" "$1" "$CR_W/taken" &
	taker=$!
	for _ in $(seq 100); do [ -s "$CR_W/taken" ] && break; sleep 0.05; done
	[ -s "$CR_W/taken" ] || cr_fail "could not make a connection 127.0.0.1:$lport -> :$pport"
}

take_addresses timewait
wait $taker
ss -tanH state time-wait | grep -q "127.0.0.1:$lport *127.0.0.1:$pport" ||
	cr_fail "no TIME_WAIT socket 127.0.0.1:$lport -> :$pport to restore over"
cr_restore "$CR_W/img"
cr_log "restored over a TIME_WAIT leftover as pid $CR_PID"
ss -tanH state time-wait | grep -q "127.0.0.1:$lport *127.0.0.1:$pport" &&
	cr_fail "the TIME_WAIT leftover is still there"
cr_check 1
cr_dump "$CR_W/img2"

take_addresses hold
trap 'kill $taker 2>/dev/null; cr_cleanup' EXIT
cr_restore_fails "$CR_W/img2" streams "is this image running already" "127.0.0.1:$lport"
kill $taker
wait $taker 2>/dev/null
cr_restore "$CR_W/img2"
cr_check 2
cr_finish

#!/bin/bash
# t-tcpsink.sh - progs/tcpsink.c: a client outside the tree writes a
# counter to the tree over TCP every millisecond, through 3 cycles dumped
# with --keep-listeners and restored with --listeners, the app down 0.5 s
# each time.  The connection stays open in the holder, which takes in what
# the client sends meanwhile (its receive queue grows while the app is
# down) and the restored app reads it from the same socket: no value is
# missing and the client sees neither a reset nor an error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inet_lib.sh"
port=$(inet_port)
cr_start tcpsink tcpsink "$port"
cr_holder
sock=$CR_HOLD
flog=$CR_W/feeder.log
python3 -c '
import socket, struct, sys, time
log = open(sys.argv[2], "a", buffering=1)
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    log.write("CONNECTED\n")
    n = 0
    while True:
        s.sendall(struct.pack("<Q", n)); n += 1
        time.sleep(0.001)
except Exception as e:
    log.write("ERROR %r\n" % (e,))' "$port" "$flog" &
feeder=$!
trap 'kill $feeder 2>/dev/null; cr_cleanup' EXIT
for _ in $(seq 100); do grep -q CONNECTED "$flog" 2>/dev/null && break; sleep 0.05; done
grep -q CONNECTED "$flog" || cr_fail "the client did not connect"
cr_check 0
CR_RESTORE_ARGS="--listeners $sock"
for n in 1 2 3; do
	if [ "$CR_NOCR" = 1 ]; then sleep 0.5; cr_check "$n"; continue; fi
	# shellcheck disable=SC2086
	cr_dump "$CR_W/img.$n" --keep-listeners "$sock" ${CR_DUMP_ARGS:-}
	"$PICOCENTER" cr inspect --dir "$CR_W/img.$n" |
		grep -q "tcp4 established 127.0.0.1:$port -> .* (in custody)" ||
		cr_fail "cr inspect does not show the connection in custody"
	sleep 0.5
	queued=$(ss -tnH state established "( sport = :$port )" | awk '{ print $1; exit }')
	cr_log "cycle $n: ${queued:-no} bytes queued in the held connection"
	[ "${queued:-0}" -gt 800 ] || cr_fail "the held connection took in ${queued:-nothing} while the app was down"
	cr_restore "$CR_W/img.$n"
	cr_log "cycle $n: restored as pid $CR_PID after 0.5 s down"
	cr_check "$n"
done
if grep ERROR "$flog"; then cr_fail "the client saw an error"; fi
kill $feeder
cr_finish

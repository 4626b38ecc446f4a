#!/bin/bash
# t-unix.sh - progs/unixsk.c (unix socketpairs across processes, listeners
# on a path and an abstract name, accepted connections, a datagram server
# and its client, shutdown and closed peers, options) through 3
# dump/restore cycles and a second restore.  Then a live socket outside
# the tree takes the datagram server's path: a restore must fail naming
# the address in use, leave no tree running and remove the listener path
# it had already bound, and leave the other socket's path alone.
. "$(dirname "$0")/lib.sh"
cr_start unix unixsk
cr_cycles 3
cr_rerestore
[ "$CR_NOCR" = 1 ] && cr_finish

kill -KILL "$CR_PID"
sleep 0.1
rm -f "$CR_CHK/d.sock"
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[1] + ".ready", "w").close()
time.sleep(30)
' "$CR_CHK/d.sock" &
OTHER=$!
CR_ALL_PIDS+=("$OTHER")
for _ in $(seq 200); do [ -e "$CR_CHK/d.sock.ready" ] && break; sleep 0.01; done
if "$PICOCENTER" cr restore --dir "$CR_LAST_IMG" >"$CR_W/out" 2>"$CR_W/restore.err"; then
	cr_fail "restore succeeded while $CR_CHK/d.sock belongs to a live socket"
fi
grep -q "d.sock: address in use by a live socket" "$CR_W/restore.err" ||
	cr_fail "restore error '$(cat "$CR_W/restore.err")' does not name the address in use"
[ -e "$CR_CHK/l.sock" ] && cr_fail "the failed restore left $CR_CHK/l.sock behind"
[ -S "$CR_CHK/d.sock" ] || cr_fail "the failed restore removed the live socket's path"
pgrep -f "$TBIN/cr/unixsk $CR_CHK" >/dev/null && cr_fail "a unixsk process runs after the failed restore"
cr_log "refused: $(cat "$CR_W/restore.err")"
kill "$OTHER"
cr_finish

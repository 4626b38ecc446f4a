#!/bin/bash
# t-inet-busy.sh - restoring an app whose listening address is taken fails
# with a clear message and leaves no process of the image behind; once the
# address is free the same image restores.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inet_lib.sh"
p4=$(inet_port)
cr_start inet-busy tcpserver "$p4" "$(inet_port)"
cr_check 0
cr_dump "$CR_W/img"
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
open(sys.argv[2], "w").write("bound\n"); time.sleep(30)' "$p4" "$CR_W/taken" &
taker=$!
trap 'kill $taker 2>/dev/null; cr_cleanup' EXIT
for i in $(seq 100); do [ -s "$CR_W/taken" ] && break; sleep 0.05; done
[ -s "$CR_W/taken" ] || cr_fail "could not take 127.0.0.1:$p4"
cr_restore_fails "$CR_W/img" tcpserver "Address already in use" "127.0.0.1:$p4"
kill $taker; wait $taker 2>/dev/null
cr_restore "$CR_W/img"
cr_check 1
cr_finish

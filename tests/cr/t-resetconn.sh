#!/bin/bash
# t-resetconn.sh - progs/resetconn.c: an accepted connection that its client
# reset before the dump is a closed socket still naming the listener's
# port; it comes back unbound (not bound again, which would collide with
# the listener) and the app goes on (3 cycles).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inet_lib.sh"
port=$(inet_port)
cr_start resetconn resetconn "$port"
python3 -c '
import socket, struct, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(0.1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()' "$port" || cr_fail "the client could not connect"
sleep 0.1
ss -tanpH | grep "pid=$CR_PID," | grep -q "CLOSE " ||
	cr_log "note: ss shows no closed socket of pid $CR_PID (ss lists few of them)"
cr_cycles 3
cr_finish

#!/bin/bash
# t-unix-custody.sh - listener custody of unix listeners: progs/unixsk.c is
# dumped with --keep-listeners into a holder (`cr hold`); while the app is
# down its path listener still accepts connections (the holder keeps it);
# a restore with --listeners takes it back and every check passes.
. "$(dirname "$0")/lib.sh"
cr_start unix-custody unixsk
cr_holder
sock=$CR_HOLD
cr_check 0
for n in 1 2 3; do
	# shellcheck disable=SC2086
	cr_dump "$CR_W/img.$n" --keep-listeners "$sock" ${CR_DUMP_ARGS:-}
	python3 -c '
import socket, sys
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(sys.argv[1])
c.close()
' "$CR_CHK/l.sock" || cr_fail "the held listener refused a connection while the app was down"
	if ! pid=$("$PICOCENTER" cr restore --dir "$CR_W/img.$n" --listeners "$sock" 2>"$CR_W/restore.err"); then
		cat "$CR_W/restore.err"; cr_fail "cr restore --listeners failed"
	fi
	CR_PID=$pid; CR_ALL_PIDS+=("$pid")
	cr_check "$n"
done
cr_finish

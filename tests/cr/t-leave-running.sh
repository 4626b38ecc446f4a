#!/bin/bash
# t-leave-running.sh - `cr dump --leave-running`, 10 times in a row on
# progs/streams.c while its pipe, unix and loopback TCP streams carry data
# without pause: the tree goes on unharmed after each (its TCP sockets leave
# repair mode with nothing lost), and the last such image, restored after
# the original is killed, runs and passes its checks too.
. "$(dirname "$0")/lib.sh"
cr_start leave-running streams
cr_check 0
[ "$CR_NOCR" = 1 ] && { cr_check 1; cr_check 2; cr_finish; }
for i in $(seq 10); do
	rm -rf "$CR_W/img"
	"$PICOCENTER" cr dump --pid "$CR_PID" --dir "$CR_W/img" --leave-running 2>"$CR_W/err" ||
		cr_fail "dump --leave-running $i: $(cat "$CR_W/err")"
	cr_alive "$CR_PID" || cr_fail "the tree died with dump --leave-running $i"
done
cr_log "10 dumps left the tree running"
cr_check 1
# Every process of the tree must be gone (its sockets with it), not only
# the root: a restore finding the old connection still open refuses it.
tree=$(pgrep --ns "$CR_PID" --nslist pid)
kill -KILL "$CR_PID"
for p in $tree; do
	while cr_alive "$p"; do sleep 0.01; done
done
cr_restore "$CR_W/img"
cr_log "restored the last --leave-running image as pid $CR_PID"
cr_check 2
cr_finish

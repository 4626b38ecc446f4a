#!/bin/bash
# t-sysv-ipc.sh - progs/sysvipc.c: SysV shared memory (a 56-byte segment
# attached by two processes as PostgreSQL's, a private one of 3 pages and
# a bit, one not attached, one detached and attached again at every
# check, one removed while attached, a sparse one of 64 MiB whose image
# holds two pages), a semaphore set and a message queue
# of the tree's own IPC namespace keep their ids, keys, modes, contents and
# attachments through 3 cycles and a re-restore; `cr inspect` lists them.
. "$(dirname "$0")/lib.sh"
cr_start sysv-ipc sysvipc
cr_cycles 3
cr_rerestore
[ "$CR_NOCR" = 1 ] && cr_finish
# A dump that leaves the tree running: the check after it sees whether
# reading the segments filled the sparse one's holes.
"$PICOCENTER" cr dump --pid "$CR_PID" --dir "$CR_W/img.lr" --leave-running 2>"$CR_W/err" ||
	cr_fail "dump --leave-running: $(cat "$CR_W/err")"
cr_check 4
CR_LAST_IMG=$CR_W/img.lr
"$PICOCENTER" cr inspect --dir "$CR_LAST_IMG" >"$CR_W/inspect" || cr_fail "cr inspect failed"
for want in "own IPC namespace" "SysV shm id [0-9]* key 0x00a7833e (56 bytes) mode 0600" \
	"SysV shm id [0-9]* key 0x00000000 (5000 bytes) mode 0600 uid 0 removed" \
	"SysV semaphores id [0-9]* key 0x000005e5 (3 semaphores) mode 0640" \
	"SysV message queue id [0-9]* key 0x000003e3 (2 messages) mode 0620"; do
	grep -q "^$want" "$CR_W/inspect" || cr_fail "cr inspect does not list '$want'"
done
pages=$(stat -c %s "$CR_LAST_IMG/pages")
[ "$pages" -lt $((16 << 20)) ] || cr_fail "DIR/pages is $pages bytes: the sparse segment's holes were stored"
cr_finish

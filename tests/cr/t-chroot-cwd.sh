#!/bin/bash
# t-chroot-cwd.sh - progs/chroots.c cwd: processes whose root is a chroot
# and whose cwd is inside it (a subdirectory, the root itself, a child
# forked inside the chroot) or outside it come back with the same root and
# cwd (3 cycles, re-restore).  Then a tree with a process chrooted into a
# tmpfs only the tree sees: its dump is refused, naming the pid and the
# path, and the tree keeps running.
. "$(dirname "$0")/lib.sh"
cr_start chroot-cwd chroots cwd
cr_cycles 3
cr_rerestore
[ "$CR_NOCR" = 1 ] && cr_finish
kill -KILL "$CR_PID"

cr_start chroot-badroot chroots badroot
cr_check 0
if "$PICOCENTER" cr dump --pid "$CR_PID" --dir "$CR_W/bad" 2>"$CR_W/err"; then
	cr_fail "the dump of a process chrooted into a tree-only mount succeeded"
fi
cr_log "refused: $(cat "$CR_W/err")"
grep -q "root $CR_CHK/mnt cannot be rebuilt" "$CR_W/err" ||
	cr_fail "the message does not name the root that cannot be rebuilt"
grep -Eq "pid [0-9]+" "$CR_W/err" || cr_fail "the message does not name the pid"
cr_alive "$CR_PID" || cr_fail "the tree died with the refused dump"
cr_check 1
cr_finish

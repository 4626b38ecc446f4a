#!/bin/bash
# t-pty.sh - progs/ptys.c (two pty pairs in the host's devpts: one with
# a slave that is a session's controlling terminal with another group in
# the foreground, raw termios, a window size, exclusive mode and mode
# 0600; one locked master in packet mode) through 3 dump/restore cycles
# and a second restore: indexes, termios, window, modes, session and
# foreground group come back and pair A carries data both ways.  Input
# left queued in a slave is not carried: a dump then fails, saying so,
# and the tree runs on; once the app has read it, the dump works.
. "$(dirname "$0")/lib.sh"
cr_start pty ptys
cr_cycles 3
touch "$CR_CHK/queue.4"
cr_check 4
"$PICOCENTER" cr dump --pid "$CR_PID" --dir "$CR_W/img.queued" 2>"$CR_W/dump.err" &&
	cr_fail "a dump with terminal input queued succeeded"
grep -q "bytes of input are not read yet" "$CR_W/dump.err" ||
	cr_fail "dump with input queued: $(cat "$CR_W/dump.err")"
cr_log "dump refused: $(cat "$CR_W/dump.err")"
cr_alive "$CR_PID" || cr_fail "the tree died with the refused dump"
[ -e "$CR_W/img.queued" ] && [ -n "$(ls -A "$CR_W/img.queued")" ] && cr_fail "the refused dump left files"
cr_check 5
cr_cycle 6
cr_rerestore
cr_finish

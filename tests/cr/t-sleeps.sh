#!/bin/bash
# t-sleeps.sh - progs/sleeps.c: sleeps interrupted by the dump continue with
# the time they had left (see the program's header).  The dump comes 1.5 s
# into the 3 s sleeps, so a sleep restarted from scratch would take 4.5 s.
# One cycle only: the program measures wall time from before the first dump.
. "$(dirname "$0")/lib.sh"
CR_SETTLE=1.5
cr_start sleeps sleeps
cr_cycles 1
cr_finish

#!/bin/bash
# t-timers.sh - progs/timers.c through dump/restore cycles (see the program's header).
. "$(dirname "$0")/lib.sh"
cr_test timers timers 3

#!/bin/bash
# t-highfds.sh - progs/highfds.c: fds on the highest numbers the hard
# RLIMIT_NOFILE allows survive dump/restore cycles, and no service fd of
# the restore is left behind (3 cycles and a re-restore).
. "$(dirname "$0")/lib.sh"
cr_test highfds highfds 3

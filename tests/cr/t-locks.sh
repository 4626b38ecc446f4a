#!/bin/bash
# t-locks.sh - progs/locks.c: a flock, POSIX record locks (a byte range
# for writing, the file's tail for reading), an OFD lock and a shared flock
# through two fds stay held through 3 cycles and a re-restore: another
# process is refused each conflicting lock, and the bytes outside the
# ranges are free.
. "$(dirname "$0")/lib.sh"
cr_test locks locks 3

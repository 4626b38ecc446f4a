#!/bin/bash
# t-mqueue.sh - progs/mqueues.c: POSIX message queues of the tree's own
# IPC namespace (one opened twice, read-write and write-only non-blocking;
# one unlinked while open) keep names, attributes, mode and messages with
# their priorities through 3 cycles and a re-restore.
. "$(dirname "$0")/lib.sh"
cr_test mqueue mqueues 3

#!/bin/bash
# t-sysv-ipc.sh - progs/sysvipc.c: SysV shared memory (a 56-byte segment
# attached by two processes as PostgreSQL's, a private one of 3 pages and
# a bit, one not attached, one detached and attached again at every
# check), a semaphore set and a message queue of the tree's own IPC
# namespace keep their ids, keys, modes, contents and attachments through
# 3 cycles and a re-restore.
. "$(dirname "$0")/lib.sh"
cr_test sysv-ipc sysvipc 3

#!/bin/bash
# t-manyconns.sh - progs/manyconns.c: 500 TCP connections and 500 unix
# socketpairs with queued data in one epoll set (2001 fds) through dump/
# restore cycles (3 cycles and a re-restore).
. "$(dirname "$0")/lib.sh"
cr_test manyconns manyconns 3

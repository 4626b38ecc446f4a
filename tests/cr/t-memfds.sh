#!/bin/bash
# t-memfds.sh - progs/memfds.c: memfd fds with and without sealing allowed,
# sealed and not, keep content, offset and seals (3 cycles, re-restore).
. "$(dirname "$0")/lib.sh"
cr_test memfds memfds 3

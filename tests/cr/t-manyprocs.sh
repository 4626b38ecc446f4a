#!/bin/bash
# t-manyprocs.sh - progs/manyprocs.c: a tree of 241 processes (pids,
# parents, private and shared memory) through dump/restore cycles (3
# cycles and a re-restore).
. "$(dirname "$0")/lib.sh"
CR_TIMEOUT=${CR_TIMEOUT:-30}
cr_test manyprocs manyprocs 3

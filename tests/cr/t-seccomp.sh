#!/bin/bash
# t-seccomp.sh - progs/seccompf.c through dump/restore cycles: seccomp
# filters a tree installed itself come back, shared or not, in every
# thread, none lost and none added (see the program's header).
. "$(dirname "$0")/lib.sh"
cr_test seccomp seccompf 3

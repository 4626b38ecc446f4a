#!/bin/bash
# t-robust.sh - progs/robust.c through dump/restore cycles (see the program's header).
. "$(dirname "$0")/lib.sh"
cr_test robust robust 3

#!/bin/bash
# t-fpu.sh - progs/fpu.c through dump/restore cycles (see the program's header).
. "$(dirname "$0")/lib.sh"
cr_test fpu fpu 3

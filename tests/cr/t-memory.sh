#!/bin/bash
# t-memory.sh - progs/memory.c through dump/restore cycles (see the program's header).
. "$(dirname "$0")/lib.sh"
cr_test memory memory 3

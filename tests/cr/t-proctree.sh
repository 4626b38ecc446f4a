#!/bin/bash
# t-proctree.sh - progs/proctree.c through dump/restore cycles (see the program's header).
. "$(dirname "$0")/lib.sh"
cr_test proctree proctree 3

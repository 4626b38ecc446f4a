#!/bin/bash
# t-rseq.sh - progs/rseq.c through dump/restore cycles (see the program's header).
. "$(dirname "$0")/lib.sh"
cr_test rseq rseq 3

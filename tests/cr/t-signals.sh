#!/bin/bash
# t-signals.sh - progs/signals.c through dump/restore cycles (see the program's header).
. "$(dirname "$0")/lib.sh"
cr_test signals signals 3

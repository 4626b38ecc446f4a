#!/bin/bash
# t-combined.sh - progs/combined.c: 8 FPU threads, a child sharing memory,
# timers, queued signals and 200 MB of checksummed memory; 10 cycles.
. "$(dirname "$0")/lib.sh"
CR_TIMEOUT=${CR_TIMEOUT:-20}
cr_test combined combined 10 200

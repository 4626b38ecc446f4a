#!/bin/bash
# t-proc.sh - the /proc readers (src/cr/proc*.c) against namespace trees of
# known state: build/tests/proc/u-proc does the work (0 pass, 77 skip).
exec "$TBIN/proc/u-proc"

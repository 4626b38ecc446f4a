#!/bin/bash
# t-sigflood.sh - progs/sigflood.c: real-time signals queued without pause
# arrive exactly once across dump/restore cycles (3 cycles and a
# re-restore).
. "$(dirname "$0")/lib.sh"
cr_test sigflood sigflood 3

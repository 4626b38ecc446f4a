#!/bin/bash
# t-lazystorm.sh - progs/lazystorm.c: readers fault in lazily restored
# memory while the process forks and discards memory without pause, with
# the page server's background fill off so that every page comes in through
# a fault (3 cycles and a re-restore).  A fault the server fails to answer
# hangs a reader and the check times out.
. "$(dirname "$0")/lib.sh"
export PICOCENTER_LAZY_FILL=0
CR_TIMEOUT=${CR_TIMEOUT:-20}
cr_test lazystorm lazystorm 3

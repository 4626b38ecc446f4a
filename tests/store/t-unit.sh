#!/bin/bash
# The unit tests of the store core (tests/store/progs/u-store.c).
. "$(dirname "$0")/lib.sh"
"${TBIN:-$ROOT/build/tests}/store/u-store"

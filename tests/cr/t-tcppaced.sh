#!/bin/bash
# t-tcppaced.sh - progs/tcppaced.c: a paced TCP stream inside the tree
# keeps moving in the kernel while the tree is frozen, and the dump reads
# its receiving end milliseconds before its sending end.  The network lock
# stops it before either is read, so the two images agree and the stream
# goes on with no value missing (5 cycles and a re-restore).
. "$(dirname "$0")/lib.sh"
cr_test tcppaced tcppaced 5

#!/bin/bash
# t-roundtrip.sh - runs the manifest unit test (tests/image/progs/u-image.c):
# round trip of a rich image, corrupted/truncated/invalid/missing manifests
# rejected with clear messages.  Exit 0: pass.
cd "$(dirname "$0")/../.." || exit 1
TBIN=${TBIN:-$PWD/build/tests}
prog=$TBIN/image/u-image
if [ ! -x "$prog" ]; then
	echo "FAIL: $prog not built (run make)"
	exit 1
fi
"$prog"

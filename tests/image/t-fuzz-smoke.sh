#!/bin/bash
# t-fuzz-smoke.sh - builds the manifest parser's libFuzzer target
# (fuzz/image_parse.c, `make fuzz`) and fuzzes it for 20 seconds from a valid
# manifest written by u-image.  Fails if the fuzzer finds a crash, a leak or
# undefined behaviour; exits 77 (skip) without clang's fuzzer runtime.
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
TBIN=${TBIN:-$ROOT/build/tests}
SECONDS_TO_FUZZ=${FUZZ_SECONDS:-20}
work=$(mktemp -d "${TEST_TMP:-/tmp}/fuzz-image.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

. "$ROOT/fuzz/lib.sh"
fuzz_build "$work"
[ -x "$TBIN/image/u-image" ] || { echo "FAIL: $TBIN/image/u-image not built"; exit 1; }
mkdir -p "$work/seed" "$work/corpus" "$work/crash"
"$TBIN/image/u-image" --seed "$work/seed" || { echo "FAIL: writing the seed"; exit 1; }

"$ROOT/build/fuzz/image_parse" -max_total_time="$SECONDS_TO_FUZZ" \
	-artifact_prefix="$work/crash/" -print_final_stats=1 \
	"$work/corpus" "$work/seed" >"$work/log" 2>&1
rc=$?
tail -n 20 "$work/log"
if [ $rc != 0 ] || [ -n "$(ls -A "$work/crash")" ]; then
	keep=${TEST_TMP:-/tmp}/fuzz-image-crash.$$
	cp -r "$work/crash" "$keep"
	echo "FAIL: the fuzzer found a problem (exit $rc); inputs kept in $keep"
	exit 1
fi
echo "fuzzed cr_image_parse for ${SECONDS_TO_FUZZ}s: no crash"

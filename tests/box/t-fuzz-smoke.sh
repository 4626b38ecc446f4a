#!/bin/bash
# t-fuzz-smoke.sh - builds the box record parser's libFuzzer target
# (fuzz/box_record.c, `make fuzz`) and fuzzes it for 10 seconds from its
# seeds in fuzz/corpus/box_record/.  Fails if the fuzzer finds a crash, a
# leak, undefined behaviour or a hang; exits 77 (skip) without clang's
# fuzzer runtime.
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
work=$(mktemp -d "${TEST_TMP:-/tmp}/fuzz-box.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

. "$ROOT/fuzz/lib.sh"
fuzz_build "$work"
mkdir -p "$work/corpus" "$work/crash"
cp "$ROOT"/fuzz/corpus/box_record/* "$work/corpus/" || exit 1
"$ROOT/build/fuzz/box_record" -max_total_time="${FUZZ_SECONDS:-10}" -timeout=10 \
	-artifact_prefix="$work/crash/" -print_final_stats=1 "$work/corpus" >"$work/log" 2>&1
rc=$?
echo "== box_record: exit $rc, $(grep -h number_of_executed_units "$work/log")"
if [ $rc != 0 ] || [ -n "$(ls -A "$work/crash")" ]; then
	tail -n 30 "$work/log"
	keep=${TEST_TMP:-/tmp}/fuzz-box-crash.$$
	cp -r "$work" "$keep"
	echo "FAIL: the fuzzer found a problem in the box record parser; kept in $keep"
	exit 1
fi
echo "fuzzed box_record for ${FUZZ_SECONDS:-10}s: no crash"

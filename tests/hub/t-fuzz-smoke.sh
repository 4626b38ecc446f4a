#!/bin/bash
# t-fuzz-smoke.sh - builds the hub's libFuzzer targets and fuzzes each for
# 10 seconds from its seeds: fuzz/hub_dns.c (the DNS answers, UDP and TCP)
# and fuzz/hub_request.c (a worker's report, an app's report, a worker's
# answer to a request, an app of the hub's sync answer as a worker takes
# it).  Fails if a fuzzer finds a
# crash, a leak, undefined behaviour or a broken rule; exits 77 (skip)
# without clang's fuzzer runtime.
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
SECONDS_TO_FUZZ=${FUZZ_SECONDS:-10}
work=$(mktemp -d "${TEST_TMP:-/tmp}/fuzz-hub.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
. fuzz/lib.sh
fuzz_build "$work"
for t in hub_dns hub_request; do
	mkdir -p "$work/$t/corpus" "$work/$t/crash"
	"$ROOT/build/fuzz/$t" -max_total_time="$SECONDS_TO_FUZZ" \
		-artifact_prefix="$work/$t/crash/" -print_final_stats=1 \
		"$work/$t/corpus" "$ROOT/fuzz/corpus/$t" >"$work/$t/log" 2>&1
	rc=$?
	tail -n 6 "$work/$t/log"
	if [ $rc != 0 ] || [ -n "$(ls -A "$work/$t/crash")" ]; then
		keep=${TEST_TMP:-/tmp}/fuzz-$t-crash.$$
		cp -r "$work/$t" "$keep"
		echo "FAIL: the fuzzer found a problem in $t (exit $rc); inputs kept in $keep"
		exit 1
	fi
	echo "fuzzed $t for ${SECONDS_TO_FUZZ}s: no crash"
done

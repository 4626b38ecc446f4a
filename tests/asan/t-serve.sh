#!/bin/bash
# t-serve.sh - the daemon's end-to-end tests that cover each of its paths
# (bad input, idle cycles, SIGKILL restart, failed swaps, timers) against
# the ASan+UBSan binary: daemon, engine children, holders and client.
. "$(dirname "$0")/lib.sh"
TEST_TMP=${TEST_TMP:-$(mktemp -d)}
make -C "$ROOT" -s asan || { echo "make asan failed"; exit 1; }
export PICOCENTER=$ROOT/build/asan/picocenter
export ASAN_OPTIONS=abort_on_error=0:exitcode=99:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=99
failed=0
for t in t-bad-input t-cycles t-restart t-failures t-timer; do
	log=$TEST_TMP/asan-serve-$t.log
	if S_CYCLES=2 "$ROOT/tests/serve/$t.sh" >"$log" 2>&1 &&
	   ! grep -qE "runtime error|ERROR: (Address|Leak)Sanitizer" "$log"; then
		echo "ok   serve/$t"
	else
		echo "FAIL serve/$t under ASan/UBSan:"
		grep -E "runtime error|ERROR: (Address|Leak)Sanitizer|SUMMARY|FAIL" "$log" | head -n 8
		failed=$((failed + 1))
	fi
done
[ "$failed" = 0 ]

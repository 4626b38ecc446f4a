# lib.sh - run another suite's tests against the ASan+UBSan build of
# picocenter (make asan): any sanitizer report fails the test that hit it.
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

# asan_suite SUITE: every tests/SUITE/t-*.sh with PICOCENTER=build/asan/picocenter.
asan_suite() {
	local suite=$1 t failed=0 ran=0
	make -C "$ROOT" -s asan || { echo "make asan failed"; return 1; }
	export PICOCENTER=$ROOT/build/asan/picocenter
	export ASAN_OPTIONS=abort_on_error=0:exitcode=99:detect_leaks=1
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=99
	for t in "$ROOT/tests/$suite"/t-*.sh; do
		[ -e "$t" ] || continue
		ran=$((ran + 1))
		if "$t" >"$TEST_TMP/asan-$suite-$(basename "$t").log" 2>&1; then
			echo "ok   $suite/$(basename "$t")"
		else
			echo "FAIL $suite/$(basename "$t") under ASan/UBSan:"
			grep -E "runtime error|ERROR: (Address|Leak)Sanitizer|SUMMARY|FAIL" \
				"$TEST_TMP/asan-$suite-$(basename "$t").log" | head -n 8
			failed=$((failed + 1))
		fi
	done
	echo "$ran run, $failed failed"
	[ "$ran" -gt 0 ] && [ "$failed" = 0 ]
}

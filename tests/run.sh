#!/bin/bash
# run.sh - run every test and print "N passed, N failed[, N skipped]".
#
# A test is an executable tests/<suite>/t-*.sh.  It exits 0 when it passed,
# 77 when it could not run here (counted as skipped, never as passed) and
# anything else when it failed.  Suites may have tests/<suite>/setup.sh and
# teardown.sh (servers the suite needs); a failing setup fails every test of
# the suite.  Run a subset with: tests/run.sh SUITE... or TESTS="glob".
cd "$(dirname "$0")/.." || exit 1
export ROOT=$PWD
export PICOCENTER=$ROOT/build/picocenter
export TBIN=$ROOT/build/tests
export TEST_TMP=${TEST_TMP:-$(mktemp -d /tmp/picocenter-test.XXXXXX)}
TIMEOUT=${TEST_TIMEOUT:-600}

passed=0 failed=0 skipped=0 failures=()
suites=("$@")
[ ${#suites[@]} -eq 0 ] && for d in tests/*/; do suites+=("$(basename "$d")"); done

for suite in "${suites[@]}"; do
	dir=tests/$suite
	ls "$dir"/t-*.sh >/dev/null 2>&1 || continue
	setup_ok=1
	if [ -x "$dir/setup.sh" ]; then
		echo "== $suite: setup"
		"$dir/setup.sh" || setup_ok=0
	fi
	for t in "$dir"/t-*.sh; do
		name=$suite/$(basename "$t" .sh)
		case "$name" in ${TESTS:-*}) ;; *) continue ;; esac
		if [ $setup_ok = 0 ]; then
			echo "FAIL $name (suite setup failed)"
			failed=$((failed + 1)); failures+=("$name"); continue
		fi
		log=$TEST_TMP/$(echo "$name" | tr / _).log
		start=$(date +%s%N)
		timeout -k 10 "$TIMEOUT" "$t" >"$log" 2>&1
		rc=$?
		ms=$((($(date +%s%N) - start) / 1000000)); secs=$((ms / 1000)).$((ms % 1000 / 100))
		if [ $rc = 0 ]; then
			echo "PASS $name (${secs}s)"; passed=$((passed + 1))
		elif [ $rc = 77 ]; then
			echo "SKIP $name: $(tail -n 1 "$log")"; skipped=$((skipped + 1))
		else
			echo "FAIL $name (exit $rc, ${secs}s); last lines of $log:"
			tail -n 15 "$log" | sed 's/^/    /'
			failed=$((failed + 1)); failures+=("$name")
		fi
	done
	[ -x "$dir/teardown.sh" ] && "$dir/teardown.sh"
done

# The reasons again, last, where a truncated transcript still shows them.
for name in "${failures[@]}"; do
	log=$TEST_TMP/$(echo "$name" | tr / _).log
	echo "why $name:"
	grep -a -m 6 -E "FAIL|ERROR|runtime error|SUMMARY" "$log" 2>/dev/null | cut -c1-300 | sed 's/^/    /'
done
[ $failed -gt 0 ] && echo "failed: ${failures[*]}"
if [ $skipped -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ $failed = 0 ]

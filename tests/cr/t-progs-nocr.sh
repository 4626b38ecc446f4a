#!/bin/bash
# t-progs-nocr.sh - every cr object-test program passes its own self-check
# with no checkpoint at all (CR_NOCR=1: spawn, then checks 0..3), so that a
# failure of its runner points at the engine, not at the program.
cd "$(dirname "$0")" || exit 1
status=0 ran=0
for t in t-*.sh; do
	prog=${t#t-}
	prog=${prog%.sh}
	[ -f "progs/$prog.c" ] || continue
	ran=$((ran + 1))
	if CR_NOCR=1 "./$t" >"${TEST_TMP:-/tmp}/cr-nocr-$prog.log" 2>&1; then
		echo "ok   $prog"
	else
		echo "FAIL $prog:"
		tail -n 8 "${TEST_TMP:-/tmp}/cr-nocr-$prog.log" | sed 's/^/    /'
		status=1
	fi
done
echo "$ran programs checked"
[ "$ran" -ge 10 ] || { echo "expected at least 10 programs"; exit 1; }
exit $status

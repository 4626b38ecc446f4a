#!/bin/bash
# t-progs-nocr.sh - every cr object-test program passes its own self-check
# with no checkpoint at all (CR_NOCR=1: spawn, then checks 0..3).  Keeps the
# programs honest while their dump/restore runners wait in pending/.
cd "$(dirname "$0")" || exit 1
status=0
for t in pending/t-*.sh; do
	prog=${t#pending/t-}
	prog=${prog%.sh}
	[ -f "progs/$prog.c" ] || continue
	if CR_NOCR=1 "./$t" >"${TEST_TMP:-/tmp}/cr-nocr-$prog.log" 2>&1; then
		echo "ok   $prog"
	else
		echo "FAIL $prog:"
		tail -n 8 "${TEST_TMP:-/tmp}/cr-nocr-$prog.log" | sed 's/^/    /'
		status=1
	fi
done
exit $status

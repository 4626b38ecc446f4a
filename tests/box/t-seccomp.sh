#!/bin/bash
# t-seccomp.sh - an app in a box that installs seccomp filters of its own
# on top of its box's (tests/cr/progs/seccompf.c: a filter in the root,
# shared with a thread and a child, and one more in the child) goes
# through 3 dump/restore cycles: each process gets the box's filter and its
# own back, no duplicate of the box's (Seccomp_filters counts), and its
# filters still refuse what they refused.
d=$(dirname "$0"); . "$d/lib.sh"
b_init seccomp
PROG=$ROOT/build/tests/cr/seccompf
[ -x "$PROG" ] || b_fail "no $PROG (run make)"
LOG=$B_DIR/sc-$$.log
b_spawn sc -- /bin/sh -c "mkdir -p /tmp/ck && exec $PROG /tmp/ck 1" || b_fail "spawn failed"
PID=$B_PID
b_wait "READY" grep -q '^READY' "$LOG"
grep -q '^OK -1' "$LOG" || b_fail "the program's setup failed"
filters() { awk '/^Seccomp_filters:/ { print $2 }' "/proc/$1/status"; }
for n in 0 1 2 3; do
	if [ "$n" != 0 ]; then
		b_cycle sc "$PID" "$B_DIR/img"
		PID=$B_PID
		[ -s "$B_DIR/img/seccomp" ] || b_fail "the image has no seccomp filters"
	fi
	b_in "$PID" touch "/tmp/ck/go.$n" || b_fail "go.$n"
	b_wait "check $n" grep -Eq "^(OK|FAIL) $n" "$LOG"
	grep -q "^OK $n" "$LOG" || b_fail "$(grep "^FAIL $n" "$LOG")"
	[ "$(filters "$PID")" = 2 ] || b_fail "the app has $(filters "$PID") filters after cycle $n, not 2"
	b_log "check $n ok"
done
"$PICOCENTER" box rm --box-dir "$B_BOXES" "sc-$$" || b_fail "box rm"
b_leftovers "sc-$$"
b_log PASS

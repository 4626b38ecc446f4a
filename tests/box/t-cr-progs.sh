#!/bin/bash
# t-cr-progs.sh - programs of the cr suite (tests/cr/progs, their check
# protocol: go.N from the test, "OK N" or "FAIL N" in the log) in a box
# from `host`, as the box's root, through 3 dump/restore cycles:
# - seccompf: seccomp filters of its own on top of its box's (a filter in
#   the root, shared with a thread and a child, and one more in the child)
#   come back and still refuse what they refused, with no duplicate of the
#   box's filter (2 filters in the root, not 3);
# - sysvipc: SysV segments, semaphores and queues of the box's IPC
#   namespace keep contents and attachments, and their owner stays the
#   box's root (ids saved as the box sees them, set as the host does);
# - inotifysk: watches on directories and a file of the box's writable
#   layer (their overlay handles read through the real files) keep their
#   wds and report what happens after each restore;
# - unixsk: unix sockets of every shape, two bound to paths in the box
#   (bound again there, not on the host);
# - ptys: two pty pairs in the box's own devpts, one the controlling
#   terminal of a session with another group in the foreground: the same
#   indexes (ptmx is opened in the box until they come up), termios,
#   window, modes, owner (the box's root) and session after each cycle;
# - mqueues: POSIX message queues keep names, attributes, messages and
#   their owner (the box's root).
d=$(dirname "$0"); . "$d/lib.sh"
b_init cr-progs

filters() { awk '/^Seccomp_filters:/ { print $2 }' "/proc/$1/status"; }

# run NAME PROG ARGS...: spawn, then checks 0..3 with a cycle before each
# but the first; after_check NAME PID N runs after each check.
run() {
	local name=$1 prog=$ROOT/build/tests/cr/$2 log=$B_DIR/$1-$$.log n pid
	shift 2
	[ -x "$prog" ] || b_fail "no $prog (run make)"
	b_spawn "$name" -- /bin/sh -c "mkdir -p /tmp/ck && exec $prog /tmp/ck $*" ||
		b_fail "spawn of $name failed"
	pid=$B_PID
	b_wait "$name READY" grep -q '^READY' "$log"
	grep -q '^FAIL -1' "$log" && b_fail "$name: the program's setup failed"
	for n in 0 1 2 3; do
		if [ "$n" != 0 ]; then
			b_cycle "$name" "$pid" "$B_DIR/img-$name"
			pid=$B_PID
		fi
		b_in "$pid" touch "/tmp/ck/go.$n" || b_fail "$name: go.$n"
		b_wait "$name check $n" grep -Eq "^(OK|FAIL) $n" "$log"
		grep -q "^OK $n" "$log" || b_fail "$name: $(grep "^FAIL $n" "$log")"
		after_check "$name" "$pid" "$n"
		b_log "$name: check $n ok"
	done
	"$PICOCENTER" box rm --box-dir "$B_BOXES" "$name-$$" || b_fail "box rm $name"
	b_leftovers "$name-$$"
}

after_check() {
	case $1 in
	sc)
		[ "$(filters "$2")" = 2 ] || b_fail "the app has $(filters "$2") filters after cycle $3, not 2"
		[ "$3" = 0 ] || [ -s "$B_DIR/img-sc/seccomp" ] || b_fail "the image has no seccomp filters"
		;;
	ipc)
		local owners
		owners=$(b_in "$2" ipcs -m -s -q | awk '$1 ~ /^0x/ { print $3 }' | sort -u | tr '\n' ' ')
		[ "$owners" = "root " ] || b_fail "SysV owners in the box after cycle $3: '$owners'"
		;;
	esac
}

run sc seccompf 1
run ipc sysvipc
run ino inotifysk
run un unixsk
run pty ptys
run mq mqueues
b_log PASS

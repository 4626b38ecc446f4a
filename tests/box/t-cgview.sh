#!/bin/bash
# t-cgview.sh - what a box sees of its cgroups (box/cgview.c).  On a
# hybrid host (this one: memory, pids, cpu and freezer on cgroup v1) the
# app sees the host's layout: /sys/fs/cgroup a read-only tmpfs with each
# of its v1 hierarchies, read-only and rooted at its own cgroup (its
# memory.limit_in_bytes is its --memory, its pids.max its --pids, no
# other box's cgroup there, mountinfo's root "/"), and its delegated v2
# at /sys/fs/cgroup/unified; writes to the v1 files and the tmpfs fail.
# The same after a cycle into the kept box and one with the box asleep
# in between.  On a host with every controller on v2: /sys/fs/cgroup is
# the box's cgroup2.
d=$(dirname "$0"); . "$d/lib.sh"
b_need nsenter
b_init cgview
N=view-$$

# The app's view into the file $1 (the app itself at spawn, with its
# seccomp filter and capabilities; after a restore a shell entering all
# of the box's namespaces, its cgroup namespace too).
APP='v=$1; {
	echo "ls $(ls /sys/fs/cgroup | tr "\n" " ")"
	echo "mem $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
	echo "pids $(cat /sys/fs/cgroup/pids/pids.max)"
	echo "roots $(awk "\$5 ~ \"^/sys/fs/cgroup/\" { print \$4 }" /proc/self/mountinfo | sort -u | tr "\n" " ")"
	echo "others $(ls -d /sys/fs/cgroup/*/pcbox-* 2>/dev/null | wc -l)"
	(echo 1000 > /sys/fs/cgroup/pids/pids.max) 2>/dev/null && echo "pidsw yes" || echo "pidsw no"
	(mkdir /sys/fs/cgroup/x) 2>/dev/null && echo "tmpfsw yes" || echo "tmpfsw no"
	mkdir /sys/fs/cgroup/unified/s && rmdir /sys/fs/cgroup/unified/s && echo "v2 yes" || echo "v2 no"
} > $v.tmp; mv $v.tmp $v'
b_spawn view --memory 64M --pids 50 -- /bin/sh -c "$APP; exec sleep 1000" sh /tmp/view.0 ||
	b_fail "spawn"
PID=$B_PID
VIEW=$B_BOXES/$N/upper/tmp/view.0
b_wait "the app's view" test -s "$VIEW"
if ! grep -q '^cg_memory=0:' "$B_BOXES/$N/config"; then
	b_in "$PID" sh -c 'test "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs' ||
		b_fail "no v1 memory cgroup, and /sys/fs/cgroup is not cgroup2"
	b_log "memory on cgroup v2 here: /sys/fs/cgroup is the box's cgroup2"
	b_done "$N"
	exit 0
fi
# want WHEN: the app's view, as the app wrote it (again for WHEN).
want() {
	local k
	grep -q "^ls .*memory .*pids .*unified" "$VIEW" || b_fail "$1: /sys/fs/cgroup holds: $(grep ^ls "$VIEW")"
	grep -qx "mem 67108864" "$VIEW" || b_fail "$1: $(grep ^mem "$VIEW"), not --memory 64M"
	grep -qx "pids 50" "$VIEW" || b_fail "$1: $(grep ^pids "$VIEW"), not --pids 50"
	grep -qx "roots / " "$VIEW" || b_fail "$1: cgroup mount roots: $(grep ^roots "$VIEW")"
	for k in "others 0" "pidsw no" "tmpfsw no" "v2 yes"; do
		grep -qx "$k" "$VIEW" || b_fail "$1: '$k' expected: $(cat "$VIEW")"
	done
	b_log "$1: $(tr '\n' ';' <"$VIEW")"
}
want "spawned"
again() {
	nsenter -t "$PID" -U -m -C -u -i -n -p -r -w sh -c "$APP" sh "/tmp/view.$2" ||
		b_fail "$1: the view again"
	VIEW=$B_BOXES/$N/upper/tmp/view.$2
	want "$1"
}
b_cycle view "$PID" "$B_DIR/img"
PID=$B_PID
again "kept box" 1
sleep_box() { "$PICOCENTER" box sleep --box-dir "$B_BOXES" "$N"; }
B_BETWEEN=sleep_box b_cycle view "$PID" "$B_DIR/img"
PID=$B_PID
again "box asleep in between" 2
b_done "$N"

#!/bin/bash
# t-cgtree.sh - cgroups an app makes under its box's delegated cgroup v2
# (box/cgtree.c): the app makes a, a/b and c at /sys/fs/cgroup (/unified
# on a hybrid host), sets
# a's cgroup.max.depth and c's cgroup.max.descendants, and moves one
# child into a/b and another into c (its init stays in the box's own).
# After a cycle into the kept box, one with the box asleep in between
# (its cgroups removed and made again) and one into a box made again in
# an empty box dir, each process is in its cgroup again, the settings
# are back and the cgroups are the box's root's (it can still make and
# move into them).  A record that leads out of the box's cgroup is
# refused at restore, leaving nothing.  This machine's v2 hierarchy has no controllers, so
# controller files (memory.max...) are not exercised.
d=$(dirname "$0"); . "$d/lib.sh"
b_need nsenter
b_init cgtree
N=cg-$$
cg_of() { sed -n 's/^0:://p' "/proc/$1/cgroup"; }
kids() { cat "/proc/$1/task/$1/children"; }
box_cg() { sed -n 's/^cg_unified=1://p' "$B_BOXES/$N/config"; }

b_spawn cg -- /bin/sh -c 'C=/sys/fs/cgroup; [ -d $C/unified ] && C=$C/unified
	mkdir -p $C/a/b $C/c &&
	echo 3 > $C/a/cgroup.max.depth && echo 7 > $C/c/cgroup.max.descendants || exit 1
	sleep 1001 & echo $! > $C/a/b/cgroup.procs
	sleep 1002 & echo $! > $C/c/cgroup.procs
	touch /tmp/ready; exec sleep 1000' || b_fail "spawn"
PID=$B_PID
b_wait "the app's cgroups" test -e "$B_BOXES/$N/upper/tmp/ready"
[ -n "$(box_cg)" ] || b_fail "the box has no cgroup v2"

# check WHEN: the tree's processes and the box's cgroups are as the app made them.
check() {
	local base cg k where
	cg=$(box_cg)
	base=$(sed -n 's/^uid_base=//p' "$B_BOXES/$N/config")
	[ "$(cg_of "$PID")" = "$(cg_of "$PID" | sed 's|/a/b$||; s|/c$||')" ] ||
		b_fail "$1: the init is in $(cg_of "$PID")"
	for k in $(kids "$PID"); do
		case $(tr '\0' ' ' <"/proc/$k/cmdline") in
		"sleep 1001 ") where=/a/b ;;
		"sleep 1002 ") where=/c ;;
		*) b_fail "$1: a child $(tr '\0' ' ' <"/proc/$k/cmdline")" ;;
		esac
		[[ $(cg_of "$k") == *"/$(basename "$cg")$where" ]] ||
			b_fail "$1: $(tr '\0' ' ' <"/proc/$k/cmdline")is in $(cg_of "$k"), not ...$where"
	done
	[ "$(kids "$PID" | wc -w)" = 2 ] || b_fail "$1: children $(kids "$PID")"
	[ "$(cat "$cg/a/cgroup.max.depth")" = 3 ] || b_fail "$1: a's max.depth $(cat "$cg/a/cgroup.max.depth")"
	[ "$(cat "$cg/c/cgroup.max.descendants")" = 7 ] || b_fail "$1: c's max.descendants"
	[ "$(cat "$cg/a/b/cgroup.max.depth")" = max ] || b_fail "$1: a/b's max.depth"
	for d in a a/b c; do
		[ "$(stat -c %u "$cg/$d")" = "$base" ] && [ "$(stat -c %u "$cg/$d/cgroup.procs")" = "$base" ] ||
			b_fail "$1: cgroup $d is not the box's root's"
	done
	b_in "$PID" sh -c 'C=/sys/fs/cgroup; [ -d $C/unified ] && C=$C/unified
		mkdir $C/a/n && echo 1 > $C/a/n/cgroup.procs && echo 1 > $C/cgroup.procs &&
		rmdir $C/a/n' ||
		b_fail "$1: the box's root cannot make and use a cgroup under a"
	b_log "$1: processes in a/b and c, settings and owners back"
}

check "before any dump"
b_cycle cg "$PID" "$B_DIR/img"
PID=$B_PID
check "kept box"
sleep_box() { "$PICOCENTER" box sleep --box-dir "$B_BOXES" "$N"; }
B_BETWEEN=sleep_box b_cycle cg "$PID" "$B_DIR/img"
PID=$B_PID
check "box asleep in between"
b_cycle_moved cg "$PID" "$B_DIR/img"
PID=$B_PID
check "box made again in an empty box dir"

# A record that leads out of the box's cgroup is refused, with nothing
# made and no process left; the image as it was restores.
IMG=$B_DIR/img2
"$PICOCENTER" cr dump --pid "$PID" --dir "$IMG" --box-dir "$B_BOXES" || b_fail "dump"
cp "$IMG/box-cgroups" "$B_DIR/cgroups.good"
echo "dir ../pc-escape-$$" >>"$IMG/box-cgroups"
err=$("$PICOCENTER" cr restore --dir "$IMG" --box-dir "$B_BOXES" 2>&1) && b_fail "a bad box-cgroups restored"
[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && [[ $err == *"bad line 'dir ../pc-escape-$$'"* ]] ||
	b_fail "bad box-cgroups: $err"
[ -e "$(dirname "$(box_cg)")/pc-escape-$$" ] && b_fail "a cgroup was made outside the box's"
[ -z "$(cat "$(box_cg)/cgroup.procs" "$(box_cg)"/*/cgroup.procs "$(box_cg)"/*/*/cgroup.procs)" ] ||
	b_fail "processes left in the box after a refused restore"
b_log "refused: $err"
cp "$B_DIR/cgroups.good" "$IMG/box-cgroups"
PID=$("$PICOCENTER" cr restore --dir "$IMG" --box-dir "$B_BOXES") || b_fail "restore"
B_PIDS+=("$PID")
check "the image restored after a refused one"
b_done "$N"

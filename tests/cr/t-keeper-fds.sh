#!/bin/bash
# t-keeper-fds.sh - the keeper process of a spawned or restored tree does
# not keep the caller's files open.  The command runs with fd 9 open on a
# marker file; afterwards neither the keeper (the tree's parent) nor the
# tree may hold it.  A keeper that kept a caller's pipe open would make the
# caller wait for the tree's whole life.
. "$(dirname "$0")/lib.sh"
cr_workdir keeper-fds
MARK="$CR_W/marker"
: >"$MARK"

# holds_marker PID: true if PID has the marker file open.
holds_marker() {
	local f
	for f in /proc/"$1"/fd/*; do
		[[ $(readlink "$f" 2>/dev/null) == "$MARK" ]] && return 0
	done
	return 1
}

# check_tree WHAT PID: the tree PID and its keeper must not hold the marker.
check_tree() {
	local keeper
	[[ $2 =~ ^[0-9]+$ ]] || cr_fail "$1 printed '$2', not a pid"
	CR_ALL_PIDS+=("$2")
	cr_alive "$2" || cr_fail "$1: tree $2 is not running"
	keeper=$(cr_keeper "$2")
	[[ -n $keeper && $keeper != 1 ]] || cr_fail "$1: tree $2 has no keeper (parent '$keeper')"
	holds_marker "$keeper" && cr_fail "$1: keeper $keeper holds the caller's fd 9"
	holds_marker "$2" && cr_fail "$1: tree $2 holds the caller's fd 9"
	cr_log "$1: keeper $keeper and tree $2 hold none of the caller's files"
}

pid=$("$PICOCENTER" cr spawn -- /bin/sleep 1000 9<"$MARK") || cr_fail "spawn failed"
check_tree spawn "$pid"
"$PICOCENTER" cr dump --pid "$pid" --dir "$CR_W/img" || cr_fail "dump failed"
pid=$("$PICOCENTER" cr restore --dir "$CR_W/img" 9<"$MARK") || cr_fail "restore failed"
check_tree restore "$pid"
cr_log "PASS"

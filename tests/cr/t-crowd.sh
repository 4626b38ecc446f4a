#!/bin/bash
# t-crowd.sh - progs/crowd.c: one image restored CROWD times at once, the
# copies checked together, dumped all at once and restored all at once
# again.  Every restore must succeed with its own new root, every copy must
# pass each check (one "OK N" line per copy in the shared log), and every
# dump must succeed.  Concurrent keepers, page servers and CPU pinning must
# not get in each other's way.
. "$(dirname "$0")/lib.sh"
CROWD=${CROWD:-5}

# restore_all DIR...: restore every DIR concurrently; CROWD_PIDS := roots.
restore_all() {
	local i dir jobs=() p
	i=0
	for dir in "$@"; do
		"$PICOCENTER" cr restore --dir "$dir" >"$CR_W/pid.$i" 2>"$CR_W/rerr.$i" &
		jobs+=($!)
		i=$((i + 1))
	done
	CROWD_PIDS=()
	for i in "${!jobs[@]}"; do
		wait "${jobs[$i]}" || { cat "$CR_W/rerr.$i"; cr_fail "restore $i of $# failed"; }
		p=$(<"$CR_W/pid.$i")
		[[ $p =~ ^[0-9]+$ ]] || cr_fail "restore $i printed '$p', not a pid"
		CR_ALL_PIDS+=("$p")
		cr_alive "$p" || cr_fail "restored root $p is not running"
		CROWD_PIDS+=("$p")
	done
	[ "$(printf '%s\n' "${CROWD_PIDS[@]}" | sort -u | wc -l)" = "$#" ] ||
		cr_fail "the $# restores did not give $# distinct roots: ${CROWD_PIDS[*]}"
	CR_PID=${CROWD_PIDS[0]}
	cr_log "restored $# copies at once: ${CROWD_PIDS[*]}"
}

# check_all N: every copy answers check N.
check_all() {
	local p
	touch "$CR_CHK/go.$1"
	cr_wait_line "OK $1" "$CROWD" || cr_fail "not every copy passed check $1"
	for p in "${CROWD_PIDS[@]}"; do
		cr_alive "$p" || cr_fail "copy $p died during check $1"
	done
	cr_log "check $1 OK in all $CROWD copies"
}

# dump_all: dump every copy concurrently into $CR_W/img2.I.
dump_all() {
	local i jobs=()
	for i in "${!CROWD_PIDS[@]}"; do
		"$PICOCENTER" cr dump --pid "${CROWD_PIDS[$i]}" --dir "$CR_W/img2.$i" 2>"$CR_W/derr.$i" &
		jobs+=($!)
	done
	for i in "${!jobs[@]}"; do
		wait "${jobs[$i]}" || { cat "$CR_W/derr.$i"; cr_fail "dump of copy ${CROWD_PIDS[$i]} failed"; }
	done
	cr_log "dumped ${#jobs[@]} copies at once"
}

cr_start crowd crowd
cr_check 0
if [ "$CR_NOCR" = 1 ]; then   # the program's own checks, one copy, no dump
	cr_check 1
	cr_check 2
	cr_finish
fi
cr_dump "$CR_W/img"
imgs=()
for _ in $(seq "$CROWD"); do imgs+=("$CR_W/img"); done
restore_all "${imgs[@]}"
check_all 1
dump_all
imgs=()
for i in $(seq 0 $((CROWD - 1))); do imgs+=("$CR_W/img2.$i"); done
restore_all "${imgs[@]}"
check_all 2
for p in "${CROWD_PIDS[@]}"; do kill -KILL "$p"; done
cr_finish

#!/bin/bash
# cr.sh - checkpoint/restore speed of the engine; one JSON line per
# measurement:
#   {"bench":"cr","case":"mem100m","op":"restore","median_ms":..,"runs":N,
#    "min_ms":..,"max_ms":..}
#
#   bench/cr.sh [CASE...]      cases: mem10m mem100m mem1g threads50
#   RUNS=7 RUNS_1G=3           runs per case (medians)
#
# The workload (bench/lib/cr-workload.c) touches the case's memory with
# non-zero data (threads50: 10 MB and 50 threads) and is started with
# `picocenter cr spawn`.  Ops:
#   dump         wall time of `cr dump` (each run dumps a fresh workload);
#   dump_verify  the same with --verify (a trial restore before the kill);
#                the line also has image_bytes (du of the image)
#   restore      from the start of `cr restore` until the restored process
#                runs again (it writes to a FIFO; bench/lib/cr-time.c); large
#                memory is still being filled by the page server then
#   restore_cmd  wall time of the `cr restore` command alone
#   restore_filled  from the start of `cr restore` until the page server has
#                put in all of the lazy memory (smaps: no VMA flagged "um")
#   restore_eager  as restore, with `cr restore --eager` (every page written
#                before the process resumes); runs alternate with restore
# Targets for context: restore 10 MB < 5 ms, 100 MB < 60 ms, dump 100 MB
# < 80 ms.  When the engine fails, the line has an "error" field instead.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
PICOCENTER=${PICOCENTER:-$ROOT/build/picocenter}
RUNS=${RUNS:-7}
RUNS_1G=${RUNS_1G:-3}
CASES=("$@")
[ ${#CASES[@]} -eq 0 ] && CASES=(mem10m mem100m mem1g threads50)
B=$ROOT/build/bench
BTMP=$(mktemp -d /tmp/picocenter-bench-cr.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$BTMP"
}
trap cleanup EXIT

. bench/lib/build.sh
bench_build "$B" cr-workload cr-time || exit 1
[ -x "$PICOCENTER" ] || make -s build/picocenter >&2 || exit 1

json_str() { printf '%s' "$1" | tr '\n\t\r"\\' "   ''" | tr -d '\000-\037'; }

# emit CASE OP EXTRA VALUES...: median/min/max line from a list of ms.
emit() {
	local c=$1 op=$2 extra=$3
	shift 3
	printf '%s\n' "$@" | sort -g | awk -v c="$c" -v op="$op" -v extra="$extra" '
		{ v[NR] = $1 }
		END {
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "{\"bench\":\"cr\",\"case\":\"%s\",\"op\":\"%s\",\"median_ms\":%.3f,\"runs\":%d,\"min_ms\":%.3f,\"max_ms\":%.3f%s}\n",
				c, op, m, NR, v[1], v[NR], extra
		}'
}

error() {
	printf '{"bench":"cr","case":"%s","op":"%s","error":"%s"}\n' "$1" "$2" "$(json_str "$3")"
}

alive() { [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# spawn MB THREADS: a fresh workload; sets WPID.
spawn() {
	local log=$BTMP/log.$RANDOM i
	WPID=$("$PICOCENTER" cr spawn --log "$log" -- "$B/cr-workload" "$FIFO" "$1" "$2") || return 1
	PIDS+=("$WPID")
	for i in $(seq 3000); do
		grep -q READY "$log" 2>/dev/null && return 0
		alive "$WPID" || break
		sleep 0.01
	done
	echo "workload did not start: $(cat "$log")" >&2
	return 1
}

# restore_once CASE IMG [--eager]: one timed restore, then kill the tree;
# OUT is cr-time's "PID CMD_MS RUN_MS FILLED_MS".
restore_once() {
	local c=$1 img=$2
	shift 2
	if ! OUT=$("$B/cr-time" restore "$PICOCENTER" "$img" "$FIFO" "$@" 2>"$BTMP/err"); then
		error "$c" restore "$(head -c 300 "$BTMP/err")"
		set -- $OUT
		[ $# -ge 1 ] && kill -KILL "$1" 2>/dev/null
		return 1
	fi
	set -- $OUT
	PIDS+=("$1")
	kill -KILL "$1"
	while alive "$1"; do sleep 0.01; done
}

bench_case() {
	local c=$1 mb threads runs=$RUNS r out img dumps=() verified=() restores=() cmds=() eagers=() fills=() bytes=0
	case $c in
	mem10m) mb=10 threads=1 ;;
	mem100m) mb=100 threads=1 ;;
	mem1g) mb=1024 threads=1 runs=$RUNS_1G ;;
	threads50) mb=10 threads=50 ;;
	*) echo "unknown case $c" >&2; return 1 ;;
	esac
	FIFO=$BTMP/fifo.$c
	mkfifo "$FIFO"
	for r in $(seq "$runs"); do
		spawn "$mb" "$threads" || { error "$c" dump "cr spawn failed"; return 1; }
		[ -n "${img:-}" ] && rm -rf "$img"
		img=$BTMP/img.$c.$r
		if ! out=$("$B/cr-time" dump "$PICOCENTER" "$WPID" "$img" 2>"$BTMP/err"); then
			error "$c" dump "$(head -c 300 "$BTMP/err")"
			kill -KILL "$WPID"
			return 1
		fi
		dumps+=("$out")
	done
	bytes=$(du -sb "$img" | cut -f1)
	emit "$c" dump ",\"image_bytes\":$bytes,\"mb\":$mb,\"threads\":$threads" "${dumps[@]}"
	# The same dump proven by a trial restore before the kill (--verify).
	for r in $(seq "$runs"); do
		spawn "$mb" "$threads" || { error "$c" dump_verify "cr spawn failed"; return 1; }
		rm -rf "$BTMP/vimg.$c"
		if ! out=$("$B/cr-time" dump "$PICOCENTER" "$WPID" "$BTMP/vimg.$c" --verify 2>"$BTMP/err"); then
			error "$c" dump_verify "$(head -c 300 "$BTMP/err")"
			kill -KILL "$WPID"
			return 1
		fi
		verified+=("$out")
	done
	rm -rf "$BTMP/vimg.$c"
	emit "$c" dump_verify ",\"mb\":$mb,\"threads\":$threads" "${verified[@]}"
	for r in $(seq "$runs"); do
		restore_once "$c" "$img" || return 1
		set -- $OUT
		cmds+=("$2")
		restores+=("$3")
		fills+=("$4")
		restore_once "$c" "$img" --eager || return 1
		set -- $OUT
		eagers+=("$3")
	done
	emit "$c" restore ",\"mb\":$mb,\"threads\":$threads" "${restores[@]}"
	emit "$c" restore_cmd ",\"mb\":$mb,\"threads\":$threads" "${cmds[@]}"
	emit "$c" restore_filled ",\"mb\":$mb,\"threads\":$threads" "${fills[@]}"
	emit "$c" restore_eager ",\"mb\":$mb,\"threads\":$threads" "${eagers[@]}"
	rm -rf "$img"
}

status=0
for c in "${CASES[@]}"; do
	bench_case "$c" || status=1
done
exit $status

#!/bin/bash
# t-prefork.sh - prefork copy-on-write sharing survives dump/restore:
# progs/prefork.c (a master with 16 MiB of private memory and 4 workers
# that share it, each with a few pages of its own) through cycles in every
# restore mode: a local image lazily (the default), --eager, from a store
# (lazily, the second time with an incremental image and its ActiveSet),
# and --fill.  After each, every process checks all its memory, and the
# tree's summed Pss (smaps_rollup) must be within 10% of what it was
# before the first dump (and a --leave-running dump before them leaves the
# running tree's Pss as it was).  A control restore with the sharing off
# (PICOCENTER_SHARE=0) must show the difference (over 2.5 times as much).
. "$(dirname "$0")/lib.sh"

# tree_pss PID: Pss in KiB of PID and all its descendants.
tree_pss() {
	local q=("$1") p t=0 v
	while [ ${#q[@]} -gt 0 ]; do
		p=${q[0]}
		q=("${q[@]:1}")
		v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null) ||
			cr_fail "no smaps_rollup for pid $p"
		t=$((t + ${v:-0}))
		# shellcheck disable=SC2046
		q+=($(cat /proc/"$p"/task/*/children 2>/dev/null))
	done
	echo "$t"
}

STORE=
store_cycle() {
	local old=$CR_PID i
	"$PICOCENTER" cr dump --pid "$CR_PID" --store "$STORE" --image pf 2>"$CR_W/dump.err" ||
		{ cat "$CR_W/dump.err"; cr_fail "dump to the store"; }
	for i in $(seq 200); do cr_alive "$old" || break; sleep 0.01; done
	CR_PID=$("$PICOCENTER" cr restore --store "$STORE" --image pf "$@" 2>"$CR_W/restore.err") ||
		{ cat "$CR_W/restore.err"; cr_fail "restore from the store"; }
	CR_ALL_PIDS+=("$CR_PID")
}

# cycle N MODE: dump, restore in MODE, check N, compare the Pss.
cycle() {
	local n=$1 mode=$2 pss
	case $mode in
	lazy) cr_dump "$CR_W/img.$n"; cr_restore "$CR_W/img.$n" ;;
	eager) cr_dump "$CR_W/img.$n"; CR_RESTORE_ARGS=--eager cr_restore "$CR_W/img.$n" ;;
	store) store_cycle ;;
	fill) store_cycle --fill ;;
	*) cr_fail "mode $mode" ;;
	esac
	rm -rf "$CR_W/img.$n"
	cr_check "$n"
	pss=$(tree_pss "$CR_PID")
	cr_log "cycle $n ($mode): Pss $pss KiB (before the first dump: $BEFORE KiB)"
	[ "$pss" -le $((BEFORE * 11 / 10)) ] ||
		cr_fail "Pss after a $mode restore is $pss KiB, more than 10% over $BEFORE KiB"
	LAST_PSS=$pss
}

cr_start prefork prefork
STORE=file://$CR_W/store
cr_check 0
BEFORE=$(tree_pss "$CR_PID")
[ "$BEFORE" -ge 16000 ] || cr_fail "Pss before the dump is only $BEFORE KiB"
# A dump that leaves the tree running leaves its sharing as it was.
"$PICOCENTER" cr dump --pid "$CR_PID" --dir "$CR_W/img.lr" --leave-running ||
	cr_fail "dump --leave-running"
rm -rf "$CR_W/img.lr"
pss=$(tree_pss "$CR_PID")
cr_log "after a --leave-running dump: Pss $pss KiB"
[ "$pss" -le $((BEFORE * 11 / 10)) ] || cr_fail "a --leave-running dump took the Pss to $pss KiB"
n=0
for mode in lazy eager store store fill lazy; do
	n=$((n + 1))
	cycle "$n" "$mode"
done
# The control: the same restore with the sharing off costs 5 copies.
n=$((n + 1))
cr_dump "$CR_W/img.$n"
PICOCENTER_SHARE=0 CR_RESTORE_ARGS=--eager cr_restore "$CR_W/img.$n"
cr_check "$n"
pss=$(tree_pss "$CR_PID")
cr_log "control, sharing off: Pss $pss KiB"
[ "$pss" -gt $((BEFORE * 5 / 2)) ] || cr_fail "with the sharing off the Pss is only $pss KiB"
cr_finish

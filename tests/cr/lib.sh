# lib.sh - runner shared by the cr tests (sourced by tests/cr/t-*.sh).
#
# The protocol (see progs/check.h): a program started by `picocenter cr spawn`
# prints READY to its log, then for each N waits for CHECK_DIR/go.N, checks
# itself and prints "OK N" or "FAIL N: ...".  cr_cycles does: check 0 (no
# checkpoint yet), then per cycle: dump into a fresh dir (the old tree must be
# gone), restore (a new running process, pid 1 of its namespace), check.
#
#   CR_NOCR=1   run the same checks without dump/restore: validates a program
#               on its own (it must report OK with no checkpoint at all)
#   CR_TIMEOUT  seconds to wait for a check's verdict (default 10)
#   CR_RESTORE_ARGS  extra arguments of every `cr restore` (e.g. --eager)
#   CR_AFTER_RESTORE  a function run after each restore, before the check
#   CR_DUMP_ARGS  extra arguments of every `cr dump` of cr_cycle (e.g. --verify)

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PICOCENTER=${PICOCENTER:-$ROOT/build/picocenter}
TBIN=${TBIN:-$ROOT/build/tests}
TEST_TMP=${TEST_TMP:-/tmp}
CR_TIMEOUT=${CR_TIMEOUT:-10}
CR_NOCR=${CR_NOCR:-0}

CR_PID=          # host pid of the tree's root
CR_LOG=          # the tree's stdout/stderr
CR_W=            # work dir: images, logs
CR_CHK=          # the program's CHECK_DIR
CR_LAST_IMG=     # last image written
CR_NAME=
declare -A CR_SEEN=()   # check number -> verdicts seen so far
CR_ALL_PIDS=()   # every root this test started or restored (killed at exit)
CR_DIRS=()       # every dir to remove at exit

cr_log() { echo "[$(date +%T.%3N)] $CR_NAME: $*"; }

# True while PID exists with a thread that is not a zombie.
cr_alive() {
	local f st
	# any thread: a killed process's leader is a zombie while its other
	# threads still exit, holding the files (sockets) they share
	for f in /proc/"$1"/task/*/stat; do
		st=$(cat "$f" 2>/dev/null) || continue
		st=${st##*) }
		case ${st%% *} in Z | X | x) ;; *) return 0 ;; esac
	done
	return 1
}

cr_cleanup() {
	local p
	for p in "${CR_ALL_PIDS[@]}"; do
		cr_alive "$p" && kill -KILL "$p" 2>/dev/null
	done
	[ "${CR_KEEP:-0}" = 0 ] && [ ${#CR_DIRS[@]} -gt 0 ] && rm -rf "${CR_DIRS[@]}"
}

cr_fail() {
	cr_log "FAIL: $*"
	if [ -n "$CR_LOG" ] && [ -f "$CR_LOG" ]; then
		echo "--- last lines of the program's log:"
		tail -n 20 "$CR_LOG"
	fi
	exit 1
}

# cr_workdir NAME: CR_NAME and a fresh work dir CR_W, removed at exit with
# every pid in CR_ALL_PIDS killed (for tests that spawn trees themselves).
cr_workdir() {
	CR_NAME=$1
	[ -x "$PICOCENTER" ] || cr_fail "no $PICOCENTER (run make)"
	CR_W=$(mktemp -d "$TEST_TMP/cr-$CR_NAME.XXXXXX") || exit 1
	CR_DIRS+=("$CR_W")
	trap cr_cleanup EXIT
}

# cr_holder: start a custody holder (`cr hold`) at CR_HOLD ($CR_W/hold.sock),
# killed at exit; its messages go to $CR_W/hold.log.
cr_holder() {
	CR_HOLD=$CR_W/hold.sock
	"$PICOCENTER" cr hold "$CR_HOLD" 2>"$CR_W/hold.log" &
	CR_ALL_PIDS+=($!)
	for _ in $(seq 100); do [ -S "$CR_HOLD" ] && return 0; sleep 0.02; done
	cr_fail "cr hold did not start: $(cat "$CR_W/hold.log")"
}

# cr_keeper PID: the keeper of tree PID (its parent).
cr_keeper() {
	awk '/^PPid:/ {print $2}' "/proc/$1/status"
}

# cr_start NAME PROG [ARGS...]: spawn build/tests/cr/PROG, wait for READY.
# Returns 77 if the program printed SKIP (it cannot set up here).
cr_start() {
	local prog=$TBIN/cr/$2
	cr_workdir "$1"
	shift 2
	[ -x "$prog" ] || cr_fail "no $prog (run make)"
	# Under /tmp and world-writable: children that drop to nobody use it.
	CR_CHK=$(mktemp -d /tmp/picocenter-crchk.XXXXXX) || exit 1
	chmod 1777 "$CR_CHK"
	CR_DIRS+=("$CR_CHK")
	CR_SEEN=()
	CR_LOG=$CR_W/log
	CR_PID=$("$PICOCENTER" cr spawn --log "$CR_LOG" -- "$prog" "$CR_CHK" "$@") ||
		cr_fail "cr spawn failed"
	CR_ALL_PIDS+=("$CR_PID")
	cr_log "spawned $prog as pid $CR_PID"
	cr_wait_line READY 1
	case $? in
	0) ;;
	2) cr_log "$(grep -m1 '^SKIP' "$CR_LOG")"; return 77 ;;
	*) cr_fail "no READY from $prog" ;;
	esac
}

# cr_wait_line LINE COUNT: wait until LINE appears COUNT times in the log.
# Fails early on any FAIL line or when the tree's root dies; 2 on SKIP.
cr_wait_line() {
	local end=$((SECONDS + CR_TIMEOUT)) c
	while :; do
		c=$(grep -cxF -- "$1" "$CR_LOG" 2>/dev/null)
		[ "${c:-0}" -ge "$2" ] && return 0
		grep -q '^SKIP' "$CR_LOG" 2>/dev/null && return 2
		if grep -q '^FAIL' "$CR_LOG" 2>/dev/null; then
			cr_log "program reported: $(grep -m1 '^FAIL' "$CR_LOG")"
			return 1
		fi
		if ! cr_alive "$CR_PID"; then
			cr_log "root pid $CR_PID died while waiting for '$1'"
			return 1
		fi
		[ $SECONDS -ge $end ] && { cr_log "timeout waiting for '$1'"; return 1; }
		sleep 0.01
	done
}

# cr_check N: ask for check N and wait for "OK N".
cr_check() {
	local n=$1
	CR_SEEN[$n]=$((${CR_SEEN[$n]:-0} + 1))
	touch "$CR_CHK/go.$n"
	cr_wait_line "OK $n" "${CR_SEEN[$n]}" || cr_fail "check $n failed"
	cr_log "check $n OK"
}

# cr_dump DIR [EXTRA ARGS]: dump the tree; the old root must be gone after.
cr_dump() {
	local dir=$1 i
	shift
	if ! "$PICOCENTER" cr dump --pid "$CR_PID" --dir "$dir" "$@" 2>"$CR_W/dump.err"; then
		cat "$CR_W/dump.err"
		if cr_alive "$CR_PID"; then
			cr_log "the tree is still running after the failed dump (as it must)"
		else
			cr_log "the tree DIED with the failed dump (it must be left running)"
		fi
		cr_fail "cr dump --pid $CR_PID --dir $dir failed"
	fi
	CR_LAST_IMG=$dir
	for i in $(seq 200); do
		cr_alive "$CR_PID" || return 0
		sleep 0.01
	done
	cr_fail "pid $CR_PID still running 2 s after its dump"
}

# cr_restore DIR: restore; CR_PID becomes the new root, which must be a new,
# running process that is pid 1 of its own PID namespace.
cr_restore() {
	local dir=$1 out ns old=$CR_PID p
	# shellcheck disable=SC2086
	if ! out=$("$PICOCENTER" cr restore --dir "$dir" ${CR_RESTORE_ARGS:-} 2>"$CR_W/restore.err"); then
		cat "$CR_W/restore.err"
		cr_fail "cr restore --dir $dir failed"
	fi
	[[ $out =~ ^[0-9]+$ ]] || cr_fail "cr restore printed '$out', not a pid"
	CR_PID=$out
	for p in "${CR_ALL_PIDS[@]}"; do
		[ "$p" = "$CR_PID" ] && cr_fail "restored root has pid $CR_PID, the old one ($old)"
	done
	CR_ALL_PIDS+=("$CR_PID")
	cr_alive "$CR_PID" || cr_fail "restored root $CR_PID is not running"
	ns=$(awk '/^NSpid:/ { print $NF; n = NF } END { if (n < 3) print "not-nested" }' \
		"/proc/$CR_PID/status")
	[ "$ns" = 1 ] || cr_fail "restored root $CR_PID is not pid 1 of a new namespace (NSpid ends '$ns')"
}

# cr_restore_fails DIR PROG PATTERN...: restoring DIR must fail with a
# message that holds every PATTERN, leaving no new process of PROG behind.
cr_restore_fails() {
	local dir=$1 prog=$2 before after p
	shift 2
	before=$(pgrep -c -f "$TBIN/cr/$prog" || true)
	if "$PICOCENTER" cr restore --dir "$dir" >"$CR_W/out" 2>"$CR_W/err"; then
		cr_fail "restore of $dir succeeded (pid $(cat "$CR_W/out")); it must fail"
	fi
	cr_log "restore failed as it should: $(cat "$CR_W/err")"
	for p in "$@"; do
		grep -q -- "$p" "$CR_W/err" || cr_fail "the message does not say '$p'"
	done
	sleep 0.2
	after=$(pgrep -c -f "$TBIN/cr/$prog" || true)
	[ "$after" = "$before" ] || cr_fail "a process of the image remains ($before before, $after after)"
}

# cr_cycle N: one dump+restore cycle followed by check N.
cr_cycle() {
	local n=$1
	if [ "$CR_NOCR" = 1 ]; then
		sleep 0.05
		cr_check "$n"
		return
	fi
	local t0=$SECONDS
	# CR_SETTLE: seconds the app runs between a restore and the next dump
	[ -n "${CR_SETTLE:-}" ] && sleep "$CR_SETTLE"
	# shellcheck disable=SC2086
	cr_dump "$CR_W/img.$n" ${CR_DUMP_ARGS:-}
	cr_restore "$CR_W/img.$n"
	cr_log "cycle $n: dumped and restored as pid $CR_PID ($((SECONDS - t0)) s)"
	[ -n "${CR_AFTER_RESTORE:-}" ] && "$CR_AFTER_RESTORE"
	cr_check "$n"
}

# cr_cycles N: check 0, then N cycles.
cr_cycles() {
	local i
	cr_check 0
	for i in $(seq "$1"); do
		cr_cycle "$i"
	done
}

# cr_rerestore: kill the tree, restore the last image once more and check
# again (an image can be restored any number of times).
cr_rerestore() {
	local n=$(( ${#CR_SEEN[@]} - 1 ))
	[ "$CR_NOCR" = 1 ] && return 0
	kill -KILL "$CR_PID"
	# every marker of check n (go.n, res.*.n, and the programs' own)
	rm -f "$CR_CHK"/*."$n"
	sleep 0.1
	cr_restore "$CR_LAST_IMG"
	cr_log "restored $CR_LAST_IMG again as pid $CR_PID"
	[ -n "${CR_AFTER_RESTORE:-}" ] && "$CR_AFTER_RESTORE"
	cr_check "$n"
}

# cr_finish: kill the tree and pass.
# The tree's keeper must go with it (a keeper left waiting on a dead tree
# holds its zombie init and its page server for ever).
cr_finish() {
	local keeper
	keeper=$(cr_keeper "$CR_PID" 2>/dev/null)
	kill -KILL "$CR_PID" 2>/dev/null
	if [ -n "$keeper" ] && [ "$keeper" != 1 ]; then
		for _ in $(seq 250); do cr_alive "$keeper" || break; sleep 0.02; done
		cr_alive "$keeper" && cr_fail "keeper $keeper of the killed tree $CR_PID still runs 5 s later"
	fi
	cr_log "PASS"
	exit 0
}

# cr_test NAME PROG CYCLES [ARGS...]: the whole standard test.
cr_test() {
	local name=$1 prog=$2 cycles=$3
	shift 3
	cr_start "$name" "$prog" "$@"
	cr_cycles "$cycles"
	cr_rerestore
	cr_finish
}

#!/bin/bash
# t-init.sh - `cr spawn --init`: picocenter-init as pid 1 of the tree.
# - a foreground command gets the TERM sent to the init, and the init
#   exits once it has;
# - a command that daemonizes (setsid, fork, exit: the daemon's session
#   leader is gone) leaves the init and the daemon, no zombie; the tree
#   goes through dump/restore cycles (the restore makes the session again)
#   with the daemon's session and group ids kept; the init runs a copy
#   named by its content, and the second restore comes after another build
#   of the init was installed (the tree keeps its own copy); after
#   them, a TERM to the init reaches the daemon and the tree ends;
# - a command that cannot be executed fails the spawn with exec's error.
. "$(dirname "$0")/lib.sh"
cr_workdir init
CR_LOG=$CR_W/log

# every process of the tree rooted at $1
tree() {
	local todo=("$1") p
	while [ ${#todo[@]} -gt 0 ]; do
		p=${todo[0]}
		todo=("${todo[@]:1}")
		echo "$p"
		todo+=($(cat /proc/"$p"/task/*/children 2>/dev/null))
	done
}
wait_gone() {
	local i
	for i in $(seq 300); do cr_alive "$1" || return 0; sleep 0.01; done
	cr_fail "$2"
}
# wait for LINE in the log, whether the tree lives or not
wait_log() {
	local i
	for i in $(seq 500); do grep -qx -- "$1" "$CR_LOG" && return 0; sleep 0.01; done
	return 1
}
is_init() { [ "$(cat /proc/"$1"/comm)" = picocenter-init ] || cr_fail "pid $1 is not the init"; }

# 1. foreground
cat >"$CR_W/fg.sh" <<'EOS'
trap 'echo fg-term; exit 0' TERM
echo fg-up
while :; do sleep 0.1; done
EOS
CR_PID=$("$PICOCENTER" cr spawn --init --log "$CR_LOG" -- sh "$CR_W/fg.sh") || cr_fail "cr spawn --init failed"
CR_ALL_PIDS+=("$CR_PID")
is_init "$CR_PID"
cr_wait_line fg-up 1 || cr_fail "the command did not start"
kill -TERM "$CR_PID"
wait_log fg-term || cr_fail "the command did not get the TERM sent to the init"
wait_gone "$CR_PID" "the init still runs after its command exited"
cr_log "foreground: TERM forwarded, init gone"

# 2. daemonizing
cat >"$CR_W/daemon.sh" <<'EOS'
trap 'echo daemon-term; exit 0' TERM
echo daemon-up
while :; do sleep 0.1; done
EOS
cat >"$CR_W/start.sh" <<'EOS'
echo starting
setsid sh -c "sh $1 &"
exit 0
EOS
CR_PID=$("$PICOCENTER" cr spawn --init --log "$CR_LOG" -- sh "$CR_W/start.sh" "$CR_W/daemon.sh") ||
	cr_fail "cr spawn --init failed"
CR_ALL_PIDS+=("$CR_PID")
cr_wait_line daemon-up 1 || cr_fail "the daemon did not start"
sleep 0.2
daemon_ids() {
	local p
	for p in $(tree "$CR_PID"); do
		[ "$(cat /proc/"$p"/comm 2>/dev/null)" = sh ] &&
			awk '/^NSpgid:|^NSsid:/ { printf "%s ", $NF } /^PPid:/ { pp = $2 }' /proc/"$p"/status
	done
}
no_zombies() {
	local p st
	for p in $(tree "$CR_PID"); do
		st=$(awk '/^State:/ { print $2 }' /proc/"$p"/status)
		[ "$st" = Z ] && cr_fail "zombie pid $p ($(cat /proc/"$p"/comm)) $1"
	done
	return 0
}
no_zombies "after the command daemonized"
ids=$(daemon_ids)
set -- $ids
[ $# = 2 ] || cr_fail "not one daemon shell in the tree: ids '$ids'"
[ "$1" = "$2" ] && [ "$1" != 1 ] || cr_fail "the daemon is not in a session of its own: $ids"
for c in 1 2; do
	exe=$(readlink "/proc/$CR_PID/exe")
	# a copy named by its content, not the build's file a rebuild replaces
	case $exe in /run/picocenter/boxes/.init/picocenter-init-*) ;;
	*) cr_fail "the init runs $exe, not a content-named copy" ;; esac
	cr_dump "$CR_W/img.$c"
	if [ "$c" = 2 ]; then
		# another build of the init meanwhile (one more byte: another
		# copy); the image restores with the copy it was dumped with
		cp "$ROOT/build/picocenter-init" "$CR_W/init2" && printf '\0' >>"$CR_W/init2"
		PICOCENTER_INIT=$CR_W/init2 "$PICOCENTER" cr spawn --init -- true >/dev/null ||
			cr_fail "cr spawn --init with another build"
		# (that copy goes: only the file with its content)
		for f in /run/picocenter/boxes/.init/picocenter-init-*; do
			cmp -s "$f" "$CR_W/init2" && rm -f "$f"
		done
	fi
	cr_restore "$CR_W/img.$c"
	[ "$(readlink "/proc/$CR_PID/exe")" = "$exe" ] ||
		cr_fail "restored with $(readlink "/proc/$CR_PID/exe"), not its copy $exe"
	is_init "$CR_PID"
	[ "$(daemon_ids)" = "$ids" ] || cr_fail "cycle $c: daemon's group and session '$(daemon_ids)', not '$ids'"
	no_zombies "after restore $c"
	cr_log "cycle $c: restored, session and group $ids"
done
kill -TERM "$CR_PID"
wait_log daemon-term || cr_fail "the daemon did not get the TERM sent to the init"
wait_gone "$CR_PID" "the init still runs after the daemon exited"
cr_log "daemonized: carried through 2 cycles, TERM forwarded, init gone"

# 3. a command that cannot be executed
out=$("$PICOCENTER" cr spawn --init --log "$CR_LOG" -- "$CR_W/none" 2>&1) &&
	cr_fail "cr spawn --init of a missing command succeeded"
echo "$out" | grep -q "exec $CR_W/none: No such file or directory" || cr_fail "unexpected error: $out"
cr_log PASS

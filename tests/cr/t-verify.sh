#!/bin/bash
# t-verify.sh - `cr dump --verify` restores the image into a trial tree that
# never runs before the original is killed.
#  1. An image that cannot be restored (a listening unix socket whose
#     filesystem was remounted read-only after the bind: the restore's bind
#     fails) fails the dump with --verify: the tree keeps running and
#     answering, DIR is left empty.  The same dump without --verify
#     "succeeds" and its image fails to restore with the same cause: the
#     check is real.
#  2. Trees that do restore pass the trial (in-tree TCP, unix and pipe
#     streams; path-bound unix sockets, renamed and unlinked ones, a chroot
#     and sockets bound before it; UDP; connections in custody; SysV IPC)
#     and go through their cycles:
#     the trial leaves no process and no trial socket name behind.
. "$(dirname "$0")/lib.sh"
cr_workdir verify
RO=$CR_W/ro
SOCK=$RO/pong.sock

cleanup_verify() {
	umount -l "$RO" 2>/dev/null
	cr_cleanup
}
trap cleanup_verify EXIT

pong() {   # print the answer of the server at $SOCK
	python3 -c 'import socket,sys
s=socket.socket(socket.AF_UNIX); s.settimeout(3); s.connect(sys.argv[1])
print(s.recv(64).decode().strip())' "$SOCK"
}

spawn_pong() {
	CR_LOG=$CR_W/pong.log
	CR_PID=$("$PICOCENTER" cr spawn --log "$CR_LOG" -- "$TBIN/cr/pongsock" "$SOCK") ||
		cr_fail "spawn pongsock"
	CR_ALL_PIDS+=("$CR_PID")
	for _ in $(seq 100); do grep -q READY "$CR_LOG" 2>/dev/null && break; sleep 0.02; done
	pong | grep -q '^pong ' || cr_fail "pongsock does not answer"
}

mkdir -p "$RO"
mount -t tmpfs -o size=1m pc-verify "$RO" || cr_fail "mount tmpfs"
spawn_pong
mount -o remount,ro "$RO" || cr_fail "remount read-only"

# 1a. --verify refuses the dump; the tree runs on.
if "$PICOCENTER" cr dump --pid "$CR_PID" --dir "$CR_W/bad" --verify 2>"$CR_W/err"; then
	cr_fail "dump --verify of an unrestorable tree succeeded"
fi
cr_log "dump --verify failed as it should: $(cat "$CR_W/err")"
grep -q "does not restore" "$CR_W/err" || cr_fail "the message does not say the image does not restore"
grep -q "Read-only file system" "$CR_W/err" || cr_fail "the message does not name the cause"
cr_alive "$CR_PID" || cr_fail "the tree died with the failed verified dump"
pong | grep -q '^pong ' || cr_fail "the tree no longer answers after the failed verified dump"
[ -z "$(ls -A "$CR_W/bad" 2>/dev/null)" ] || cr_fail "the failed dump left files in its dir"
cr_log "tree $CR_PID runs on and answers"

# 1b. Without --verify the same tree is dumped, killed, and cannot return.
"$PICOCENTER" cr dump --pid "$CR_PID" --dir "$CR_W/unverified" 2>"$CR_W/err" ||
	cr_fail "plain dump failed: $(cat "$CR_W/err")"
cr_restore_fails "$CR_W/unverified" pongsock "Read-only file system"

# 2a. A restorable socket: the trial leaves no trial name, the tree restores.
umount "$RO" && mount -t tmpfs -o size=1m pc-verify "$RO" || cr_fail "remount tmpfs"
spawn_pong
"$PICOCENTER" cr dump --pid "$CR_PID" --dir "$CR_W/good" --verify 2>"$CR_W/err" ||
	cr_fail "dump --verify of a restorable tree failed: $(cat "$CR_W/err")"
for _ in $(seq 200); do cr_alive "$CR_PID" || break; sleep 0.01; done
cr_alive "$CR_PID" && cr_fail "the tree still runs after a good verified dump"
leftover=$(ls -A "$RO" | grep -v '^pong.sock$' || true)
[ -z "$leftover" ] || cr_fail "the trial left names behind: $leftover"
for _ in $(seq 100); do
	[ -z "$(pgrep -f "^$TBIN/cr/pongsock")" ] && break
	sleep 0.02
done
[ -z "$(pgrep -f "^$TBIN/cr/pongsock")" ] || cr_fail "a pongsock process remains after the dump"
cr_restore "$CR_W/good"
pong | grep -q '^pong ' || cr_fail "the restored tree does not answer"
kill -KILL "$CR_PID"
cr_log "verified image restored and answers"

# 2b. Object programs through verified cycles.
for t in streams unix inet-udp tcpsink chroot-cwd chroot-unix unix-renamed sysv-ipc; do
	CR_DUMP_ARGS=--verify "$(dirname "$0")/t-$t.sh" >"$CR_W/$t.log" 2>&1 ||
		{ tail -n 20 "$CR_W/$t.log"; cr_fail "t-$t with --verify failed"; }
	grep -q "check 1 OK" "$CR_W/$t.log" || cr_fail "t-$t ran no cycle"
	cr_log "t-$t passes with verified dumps"
done
cr_log PASS

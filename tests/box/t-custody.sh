#!/bin/bash
# t-custody.sh - a boxed lighttpd dumped with listener custody: while no
# process runs, its listening socket (in the box's network namespace) is
# held by `cr hold`, so a client connecting through the published port in
# the gap is queued, not refused, and answered once the tree is restored
# into the same box with --listeners.  The namespace the holder keeps is
# the box's (same inode) through 3 cycles.
d=$(dirname "$0"); . "$d/lib.sh"
b_need lighttpd curl
b_init custody
HP=$(b_port)
WWW=/srv/pc-www-$$
b_lighttpd_conf "$WWW"
b_spawn web --port "127.0.0.1:$HP:80" -- sh -c \
	"mkdir -p $WWW && echo held > $WWW/a.txt && exec lighttpd -D -f $B_DIR/lighttpd.conf" ||
	b_fail "spawn in a box failed"
PID=$B_PID
HOLD=$B_DIR/hold.sock
"$PICOCENTER" cr hold "$HOLD" 2>"$B_DIR/hold.log" &
B_PIDS+=($!)
for _ in $(seq 100); do [ -S "$HOLD" ] && break; sleep 0.02; done
[ -S "$HOLD" ] || b_fail "cr hold did not start"
get() { curl -sS --fail --max-time 10 "http://127.0.0.1:$HP/a.txt"; }
b_wait "lighttpd" get
NETNS=$(readlink "/proc/$PID/ns/net")
for c in 1 2 3; do
	rm -rf "$B_DIR/img"
	"$PICOCENTER" cr dump --pid "$PID" --dir "$B_DIR/img" --box-dir "$B_BOXES" --keep-listeners "$HOLD" ||
		b_fail "dump $c with custody"
	for _ in $(seq 100); do [ -d "/proc/$PID" ] || break; sleep 0.02; done
	get >"$B_DIR/gap.out" 2>&1 &   # connects while no process runs
	client=$!
	sleep 0.3
	kill -0 "$client" 2>/dev/null || b_fail "the client in the gap was not held: $(cat "$B_DIR/gap.out")"
	PID=$("$PICOCENTER" cr restore --dir "$B_DIR/img" --box-dir "$B_BOXES" --listeners "$HOLD") ||
		b_fail "restore $c with custody"
	B_PIDS+=("$PID")
	wait "$client" || b_fail "the client in the gap failed: $(cat "$B_DIR/gap.out")"
	[ "$(cat "$B_DIR/gap.out")" = held ] || b_fail "the client in the gap got: $(cat "$B_DIR/gap.out")"
	[ "$(readlink "/proc/$PID/ns/net")" = "$NETNS" ] || b_fail "network namespace changed in cycle $c"
	b_log "cycle $c: the client in the gap was answered (pid $PID)"
done
"$PICOCENTER" box rm --box-dir "$B_BOXES" "web-$$" || b_fail "box rm"
b_leftovers "web-$$"
b_log PASS

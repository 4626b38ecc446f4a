#!/bin/bash
# t-memcached.sh - memcached (4 threads, as user memcache) in a box from
# `host`, its port published on 127.0.0.1, through 10 dump/restore cycles
# (keeping its uid):
# keys set before each cycle (progs/dclient.c, the daemons suite's client)
# all read back after it, through the published port.
d=$(dirname "$0"); . "$d/lib.sh"
b_need memcached
b_init memcached
DCLIENT=$ROOT/build/tests/daemons/dclient
[ -x "$DCLIENT" ] || b_fail "no $DCLIENT (run make)"
HP=$(b_port)
b_spawn mc --port "127.0.0.1:$HP:11211" --memory 128M -- memcached -t 4 -U 0 -p 11211 -m 64 -u memcache ||
	b_fail "spawn in a box failed"
PID=$B_PID
"$DCLIENT" -w 10000 mc "$HP" set k0 v0-$$ >/dev/null || b_fail "no memcached on 127.0.0.1:$HP"
uid() { awk '/^Uid:/ { print $2 }' "/proc/$1/status"; }
MCUID=$(uid "$PID")   # memcache's, as the host sees it: in the box's range
[ "$MCUID" != 0 ] || b_fail "memcached runs as the host's root"
for c in $(seq 10); do
	"$DCLIENT" -w 2000 mc "$HP" set "k$c" "v$c-$$" >/dev/null || b_fail "set k$c"
	b_cycle mc "$PID" "$B_DIR/img"
	PID=$B_PID
	for k in $(seq 0 "$c"); do
		"$DCLIENT" -w 5000 mc "$HP" get "k$k" "v$k-$$" >/dev/null || b_fail "get k$k after cycle $c"
	done
	[ "$(grep -c '^Threads:' "/proc/$PID/status")" = 1 ] && [ "$(awk '/^Threads:/ { print $2 }' "/proc/$PID/status")" -ge 5 ] ||
		b_fail "memcached lost threads after cycle $c"
	[ "$(uid "$PID")" = "$MCUID" ] || b_fail "memcached's uid after cycle $c: $(uid "$PID"), not $MCUID"
	b_log "cycle $c ok (pid $PID)"
done
"$PICOCENTER" box rm --box-dir "$B_BOXES" "mc-$$" || b_fail "box rm"
b_leftovers "mc-$$"
b_log PASS

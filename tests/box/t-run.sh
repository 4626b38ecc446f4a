#!/bin/bash
# t-run.sh - a box's /run is a tmpfs of its own, carried through swaps:
# redis in a box from `host` keeps its pid file and its unix socket in
# /run/redis (made by the app's shell at start, as a service's runtime
# dir is), and the test leaves a file in /run.  Inside the box /run is a
# tmpfs owned by the box's root with /run/lock (mode 1777: /var/lock
# leads there), the host's /run is not seen there, and
# the host's /run does not get the box's files.  After a cycle into the
# kept box, one with the box asleep in between (its /run made again, put
# back from the image's box-run) and one into a box made again in an
# empty box dir (made from a tmpfiles.d snippet the app wrote in its
# layer, /run/trun/sub, as a booting system would): the pid file still
# names redis (its pid in the box),
# the marker is there, redis answers through its socket with the keys
# set before.
d=$(dirname "$0"); . "$d/lib.sh"
b_need redis-server redis-cli nsenter
b_init run
RUN=/run/redis
SOCK=$RUN/redis.sock
b_spawn rr -- sh -c "mkdir -p $RUN && exec redis-server --port 0 --unixsocket $SOCK \
	--pidfile $RUN/redis.pid --daemonize no --save '' --appendonly no --dir /tmp" ||
	b_fail "spawn in a box failed"
PID=$B_PID
N=rr-$$
BOX=$B_BOXES/$N
BASE=$(sed -n 's/^uid_base=//p' "$BOX/config")
[ -n "$BASE" ] || b_fail "no uid_base in the box's record"
b_wait "redis on $SOCK" b_in "$PID" redis-cli -s "$SOCK" ping
b_in "$PID" sh -c "echo here > /run/marker" || b_fail "write /run/marker in the box"
[ "$(b_in "$PID" redis-cli -s "$SOCK" set k0 v0)" = OK ] || b_fail "SET k0"

# check C: /run in the box after cycle C.
check() {
	local c=$1 k s
	s=$(b_in "$PID" stat -f -c %T /run) || b_fail "statfs /run in the box after cycle $c"
	[ "$s" = tmpfs ] || b_fail "/run in the box is '$s', not a tmpfs, after cycle $c"
	s=$(b_in "$PID" stat -c '%u %g %a' /run)
	[ "$s" = "0 0 755" ] || b_fail "/run in the box is '$s', want '0 0 755', after cycle $c"
	s=$(b_in "$PID" stat -c '%u %a' /run/lock)
	[ "$s" = "0 1777" ] || b_fail "/run/lock in the box is '$s', want '0 1777', after cycle $c"
	[ -e /run/picocenter ] && b_in "$PID" test -e /run/picocenter &&
		b_fail "the host's /run/picocenter is seen in the box after cycle $c"
	[ -e "$RUN/redis.pid" ] || [ -e /run/marker ] && b_fail "the box's /run files are on the host"
	[ "$(b_in "$PID" cat /run/marker)" = here ] || b_fail "/run/marker lost after cycle $c"
	s=$(b_in "$PID" cat "$RUN/redis.pid") || b_fail "no pid file after cycle $c"
	[ "$s" = "$(b_in "$PID" redis-cli -s "$SOCK" info server | tr -d '\r' |
		sed -n 's/^process_id://p')" ] || b_fail "pid file says '$s', not redis's pid, after cycle $c"
	for k in $(seq 0 "$c"); do
		[ "$(b_in "$PID" redis-cli -s "$SOCK" get "k$k")" = "v$k" ] ||
			b_fail "GET k$k through $SOCK after cycle $c"
	done
	s=$(stat -c '%F %u' "$BOX/root$SOCK") || b_fail "no socket in $BOX/root$RUN after cycle $c"
	[ "$s" = "socket $BASE" ] || b_fail "socket file '$s' after cycle $c, want 'socket $BASE'"
}

box_sleep() {
	"$PICOCENTER" box sleep --box-dir "$B_BOXES" "$N"
}

check 0
for c in 1 2 3; do
	[ "$(b_in "$PID" redis-cli -s "$SOCK" set "k$c" "v$c")" = OK ] || b_fail "SET k$c"
	case $c in
	1) b_cycle rr "$PID" "$B_DIR/img"; how="kept box" ;;
	2) B_BETWEEN=box_sleep b_cycle rr "$PID" "$B_DIR/img"; how="box asleep in between" ;;
	3) b_in "$PID" sh -c 'mkdir -p /etc/tmpfiles.d &&
		echo "d /run/trun/sub 0750 nobody nogroup -" > /etc/tmpfiles.d/t-run.conf' ||
		b_fail "write a tmpfiles.d snippet in the box"
	   b_cycle_moved rr "$PID" "$B_DIR/img"; BOX=$B_BOXES/$N
	   BASE=$(sed -n 's/^uid_base=//p' "$BOX/config"); how="box made again" ;;
	esac
	PID=$B_PID
	[ -s "$B_DIR/img/box-run" ] || b_fail "no box-run in the image of cycle $c"
	b_wait "redis after cycle $c" b_in "$PID" redis-cli -s "$SOCK" ping
	check "$c"
	if [ "$c" = 3 ]; then   # made again: its /run from its tmpfiles.d too
		s=$(b_in "$PID" stat -c '%a %u %g' /run/trun/sub) || b_fail "no /run/trun/sub"
		[ "$s" = "750 65534 65534" ] || b_fail "/run/trun/sub is '$s', want '750 65534 65534'"
	fi
	b_log "cycle $c ok ($how, pid $PID)"
done
b_done "$N"

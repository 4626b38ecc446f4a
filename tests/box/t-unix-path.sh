#!/bin/bash
# t-unix-path.sh - paths an app names are resolved in its box, at dump and
# at restore: redis in a box from `host`, on a unix socket only (no TCP),
# at a path of its writable layer; a watcher holding inotify watches on a
# directory and a file of that layer.  redis-cli reaches redis through the
# socket from inside the box and through the box's root path from the
# host, after each of 2 cycles into the kept box, a cycle with the box
# asleep in between, and a cycle into a box made again from the image in
# an empty box dir.  After each: the socket file is where it was bound,
# owned by the box's root (0 inside, uid_base on the host: its owner is
# saved as the box sees it), with redis's unixsocketperm; the host has no
# such path; a trial restore (--verify) leaves no trial name; the watcher still reports a file created in the watched
# directory and a write to the watched file.
d=$(dirname "$0"); . "$d/lib.sh"
b_need redis-server redis-cli nsenter python3
b_init unix-path
DATA=/var/lib/bf-unix-$$
SOCK=$DATA/redis.sock
cat >"$B_DIR/redis.conf" <<CONF
port 0
unixsocket $SOCK
unixsocketperm 750
daemonize no
dir $DATA
logfile ""
save ""
CONF
# The watcher: IN_CREATE on $DATA/w, IN_CLOSE_WRITE on $DATA/f; prints
# one line per event to its log.
cat >"$B_DIR/watch.py" <<'PY'
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
d = sys.argv[1]
os.makedirs(d + "/w", exist_ok=True)
open(d + "/f", "w").close()
fd = libc.inotify_init1(0)
if libc.inotify_add_watch(fd, (d + "/w").encode(), 0x100) != 1 or \
   libc.inotify_add_watch(fd, (d + "/f").encode(), 0x8) != 2:
    print("FAIL watch", flush=True); sys.exit(1)
print("READY", flush=True)
while True:
    buf = os.read(fd, 4096)
    while buf:
        wd, mask, _, n = struct.unpack("iIII", buf[:16])
        name = buf[16:16 + n].rstrip(b"\0").decode()
        print("EV %d %x %s" % (wd, mask, name), flush=True)
        buf = buf[16 + n:]
PY
b_spawn kv -- sh -c "mkdir -p $DATA && (python3 $B_DIR/watch.py $DATA &) &&
	exec redis-server $B_DIR/redis.conf" || b_fail "spawn in a box failed"
PID=$B_PID
N=kv-$$
LOG=$B_DIR/$N.log
BOX=$B_BOXES/$N
BASE=$(sed -n 's/^uid_base=//p' "$BOX/config")
[ -n "$BASE" ] || b_fail "no uid_base in the box's record"
b_wait "the watcher" grep -q '^READY' "$LOG"
b_wait "redis on $SOCK" b_in "$PID" redis-cli -s "$SOCK" ping

# check C: redis through its socket (inside, and from the host through the
# box's root), the socket file's owner and mode, the watches.
check() {
	local c=$1 k s
	for k in $(seq "$c"); do
		[ "$(b_in "$PID" redis-cli -s "$SOCK" get "k$k")" = "v$k" ] ||
			b_fail "GET k$k through $SOCK inside the box after cycle $c"
		[ "$(redis-cli -s "$BOX/root$SOCK" get "k$k")" = "v$k" ] ||
			b_fail "GET k$k through $BOX/root$SOCK after cycle $c"
	done
	[ -e "$SOCK" ] && b_fail "$SOCK appeared on the host"
	ls -A "$BOX/upper$DATA" | grep -q pc-verify && b_fail "a trial name is left in $DATA"
	s=$(stat -c '%F %u %a' "$BOX/upper$SOCK") || b_fail "no socket file in the upper layer after cycle $c"
	[ "$s" = "socket $BASE 750" ] || b_fail "socket file '$s' after cycle $c, want 'socket $BASE 750'"
	s=$(b_in "$PID" stat -c '%u %g' "$SOCK")
	[ "$s" = "0 0" ] || b_fail "socket file owned by '$s' in the box after cycle $c"
	b_in "$PID" sh -c "touch $DATA/w/new.$c && echo $c > $DATA/f" || b_fail "touch after cycle $c"
	b_wait "IN_CREATE new.$c" grep -q "^EV 1 100 new.$c\$" "$LOG"
	b_wait "IN_CLOSE_WRITE $c" [ "$(grep -c '^EV 2 8 ' "$LOG")" -ge "$((c + 1))" ]
}

# dump_gone: dump the tree PID into $B_DIR/img; the old tree must be gone.
dump_gone() {
	local i
	rm -rf "$B_DIR/img"
	"$PICOCENTER" cr dump --pid "$PID" --dir "$B_DIR/img" --box-dir "$B_BOXES" ||
		b_fail "dump of pid $PID failed"
	for i in $(seq 100); do [ -d "/proc/$PID" ] || break; sleep 0.02; done
	[ -d "/proc/$PID" ] && b_fail "pid $PID still there after its dump"
}

restore() {
	B_PID=$("$PICOCENTER" cr restore --dir "$B_DIR/img" --box-dir "$B_BOXES") ||
		b_fail "restore ($1) failed"
	B_PIDS+=("$B_PID")
}

cycle_asleep() {
	dump_gone
	"$PICOCENTER" box sleep --box-dir "$B_BOXES" "$N" || b_fail "box sleep"
	restore "box asleep"
}

# Another machine: the box is removed, the image restored with an empty
# box dir makes it again from its record and writable layer.
cycle_moved() {
	dump_gone
	"$PICOCENTER" box rm --box-dir "$B_BOXES" "$N" || b_fail "box rm before the move"
	b_leftovers "$N"
	B_BOXES=$B_DIR/boxes-moved
	BOX=$B_BOXES/$N
	restore "box made again"
	BASE=$(sed -n 's/^uid_base=//p' "$BOX/config")
}

set_key() {
	[ "$(b_in "$PID" redis-cli -s "$SOCK" set "k$1" "v$1")" = OK ] || b_fail "SET k$1"
}

set_key 1
check 0
for c in 1 2 3 4; do
	set_key $((c + 1))
	case $c in
	1) b_cycle kv "$PID" "$B_DIR/img"; how="kept box" ;;
	2) B_DUMP_ARGS=--verify b_cycle kv "$PID" "$B_DIR/img"; how="kept box, --verify" ;;
	3) cycle_asleep; how="box asleep in between" ;;
	4) cycle_moved; how="box made again in an empty box dir" ;;
	esac
	PID=$B_PID
	check "$c"
	b_log "cycle $c ok ($how, pid $PID)"
done
"$PICOCENTER" box rm --box-dir "$B_BOXES" "$N" || b_fail "box rm"
b_leftovers "$N"
b_log PASS

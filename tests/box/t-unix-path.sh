#!/bin/bash
# t-unix-path.sh - paths an app names are resolved in its box, at dump and
# at restore: redis in a box from `host`, on a unix socket only (no TCP),
# at a path of its writable layer; a watcher holding inotify watches on a
# directory and a file of that layer.  redis-cli reaches redis through the
# socket from inside the box and through the box's root path from the
# host, after each of 2 cycles into the kept box, a cycle with the box
# asleep in between, and a cycle into a box made again from the image in
# another box dir (another box took its old uid range meanwhile).  After each: the socket file is where it was bound,
# owned by the box's root (0 inside, uid_base on the host: its owner is
# saved as the box sees it), with redis's unixsocketperm; the host has no
# such path; a trial restore (--verify) leaves no trial name; the watcher
# still reports a file created in the watched directory, a write to the
# watched file and (from cycle 1 on) a chmod of /etc/passwd, watched while
# it was in the lower layer at the first dump and copied up since.
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
# The watcher: IN_CREATE on $DATA/w, IN_CLOSE_WRITE on $DATA/f, IN_ATTRIB
# on /etc/passwd (in the lower layer until check 1 chmods it);
# prints one line per event to its log.
cat >"$B_DIR/watch.py" <<'PY'
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
d = sys.argv[1]
os.makedirs(d + "/w", exist_ok=True)
open(d + "/f", "w").close()
fd = libc.inotify_init1(0)
if libc.inotify_add_watch(fd, (d + "/w").encode(), 0x100) != 1 or \
   libc.inotify_add_watch(fd, (d + "/f").encode(), 0x8) != 2 or \
   libc.inotify_add_watch(fd, b"/etc/passwd", 0x4) != 3:
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
	[ "$c" = 0 ] || b_in "$PID" chmod 644 /etc/passwd || b_fail "chmod after cycle $c"
	b_wait "IN_CREATE new.$c" grep -q "^EV 1 100 new.$c\$" "$LOG"
	b_wait "IN_CLOSE_WRITE $c" [ "$(grep -c '^EV 2 8 ' "$LOG")" -ge "$((c + 1))" ]
	b_wait "IN_ATTRIB $c" [ "$(grep -c '^EV 3 4 ' "$LOG")" -ge "$c" ]
}

box_sleep() {
	"$PICOCENTER" box sleep --box-dir "$B_BOXES" "$N"
}

# Another machine: the box is made again from the image, in a box dir,
# while another box (of another dir: ranges are machine-wide) took the
# range it had once it was removed: it gets another one, and the socket
# file's owner must follow (saved as the box sees it).
squat() {
	local p
	p=$("$PICOCENTER" cr spawn --name "sq-$$" --box-dir "$B_DIR/boxes-squat" \
		--bridge "$B_BRIDGE" --subnet "$B_SUBNET" --uid-pool "$BASE:65536" -- sleep 1000) ||
		b_fail "spawn of a box taking the old range"
	B_PIDS+=("$p")
}
cycle_moved() {
	local old=$BASE
	B_BETWEEN_RM=squat b_cycle_moved kv "$PID" "$B_DIR/img"
	BOX=$B_BOXES/$N
	BASE=$(sed -n 's/^uid_base=//p' "$BOX/config")
	[ "$BASE" != "$old" ] || b_fail "the box made again got its old range $old: nothing to translate"
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
	3) B_BETWEEN=box_sleep b_cycle kv "$PID" "$B_DIR/img"; how="box asleep in between" ;;
	4) cycle_moved; how="box made again with another uid range" ;;
	esac
	PID=$B_PID
	check "$c"
	b_log "cycle $c ok ($how, pid $PID)"
done
b_done "$N"

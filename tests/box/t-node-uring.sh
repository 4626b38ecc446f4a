#!/bin/bash
# t-node-uring.sh - Node.js asked to use io_uring (UV_USE_IO_URING=1) in a
# box: the box's seccomp filter answers io_uring_setup with EPERM (as
# Docker's default profile does), libuv falls back to epoll and its thread
# pool, and the server goes through 3 dump/restore cycles answering curl
# through the published port (each answer reads a file: the fs work that
# io_uring would have done).  No process of the tree holds an io_uring.
d=$(dirname "$0"); . "$d/lib.sh"
b_need node curl nsenter python3
b_init node-uring
HP=$(b_port)
cat >"$B_DIR/srv.js" <<'JS'
const http = require('http'), fs = require('fs'), os = require('os');
let n = 0;
http.createServer((q, r) => {
	fs.readFile(__filename, (e, d) => r.end(e ? 'error ' + e.code : 'n=' + (++n) + ' ' + os.hostname() + ' ' + d.length));
}).listen(80);
JS
# What io_uring_setup answers in the box, as errno's name, left in a file.
PROBE='import ctypes, errno; libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(425, 4, ctypes.create_string_buffer(120))
print("ok" if r >= 0 else errno.errorcode[ctypes.get_errno()])'
b_spawn node --port "127.0.0.1:$HP:80" -- sh -c \
	"python3 -c '$PROBE' > /tmp/uring-probe; exec env UV_USE_IO_URING=1 node $B_DIR/srv.js" ||
	b_fail "spawn in a box failed"
PID=$B_PID
get() { curl -sS --fail --max-time 5 "http://127.0.0.1:$HP/"; }
b_wait "node on 127.0.0.1:$HP" get
probe=$(b_in "$PID" cat /tmp/uring-probe)
[ "$probe" = EPERM ] || b_fail "io_uring_setup in the box answered '$probe', not EPERM"
tr '\0' '\n' <"/proc/$PID/environ" | grep -qx UV_USE_IO_URING=1 || b_fail "node lacks UV_USE_IO_URING=1"
# no_uring PID: no process of the tree has an io_uring fd or mapping.
no_uring() {
	local p
	for p in $(b_in "$1" ps -eo pid=); do
		b_in "$1" sh -c "ls -l /proc/$p/fd 2>/dev/null; cat /proc/$p/maps 2>/dev/null" |
			grep -q io_uring && b_fail "pid $p of the tree holds an io_uring"
	done
	return 0
}
no_uring "$PID"
last=$(get) || b_fail "first request"
n=${last#n=}; n=${n%% *}
LEN=$(stat -c %s "$B_DIR/srv.js")
[ "$last" = "n=$n node-$$ $LEN" ] || b_fail "answer '$last'"
for c in 1 2 3; do
	b_cycle node "$PID" "$B_DIR/img"
	PID=$B_PID
	for i in 1 2 3; do
		n=$((n + 1))
		got=$(get) || b_fail "request $i after cycle $c"
		[ "$got" = "n=$n node-$$ $LEN" ] || b_fail "after cycle $c: '$got', want 'n=$n node-$$ $LEN'"
	done
	no_uring "$PID"
	b_log "cycle $c ok (pid $PID, $n requests)"
done
"$PICOCENTER" box rm --box-dir "$B_BOXES" "node-$$" || b_fail "box rm"
b_leftovers "node-$$"
b_log PASS

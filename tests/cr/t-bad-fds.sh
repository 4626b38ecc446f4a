#!/bin/bash
# t-bad-fds.sh - fds the dumper cannot carry (io_uring, also with its rings
# mapped and held by node with UV_USE_IO_URING=1, NETLINK_XFRM and packet
# sockets, a device other than null/zero/random/urandom, a unix socket with
# a file descriptor in flight, a unix stream connected to a process outside
# the tree, a UDP socket with SO_BINDTODEVICE): the dump fails
# with a message naming pid, fd and kind, writes no image, and the tree
# keeps running and passes its next check.
. "$(dirname "$0")/lib.sh"

# expect KIND PATTERN [ARG]: spawn badfd holding KIND, a dump must fail
# with PATTERN.
expect() {
	local kind=$1 pat=$2 img
	shift 2
	(
		cr_start "bad-$kind" badfd "$kind" "$@"
		cr_check 0
		img=$CR_W/img
		if "$PICOCENTER" cr dump --pid "$CR_PID" --dir "$img" 2>"$CR_W/dump.err"; then
			cr_fail "dump of a tree holding $kind succeeded"
		fi
		grep -q -- "$pat" "$CR_W/dump.err" ||
			cr_fail "dump error '$(cat "$CR_W/dump.err")' lacks '$pat'"
		[ -e "$img/manifest" ] && cr_fail "a manifest was written"
		cr_alive "$CR_PID" || cr_fail "the tree died after a failed dump"
		cr_check 1
		cr_log "refused: $(cat "$CR_W/dump.err")"
		cr_finish
	) || exit 1
}

# io_uring: the error says what to do instead
expect io_uring "pid 1 fd 42: unsupported anon_inode:\[io_uring\] (io_uring is not carried: run the app in a box"
# With its ring mapped (liburing, libuv): the mapping is named.
expect io_uring_mapped "pid 1: vma [0-9a-f]*-[0-9a-f]*: unsupported shared mapping of anon_inode:\[io_uring\] (io_uring is not carried"
expect netlink "pid 1 fd 42: unsupported netlink socket:\["
expect packet "pid 1 fd 42: unsupported packet socket:\["
expect device "pid 1 fd 42: unsupported device /dev/full (char 1:7)"
expect timestamping "pid 1 fd 42: .*SO_TIMESTAMPING is set ([0-9]*): not carried by the image (unsupported)"
expect scm_rights "pid 1 fd 42: a file descriptor in flight (SCM_RIGHTS) in its receive queue (unsupported)"

# A listener outside the tree holds the other end of fd 42.
OUT_DIR=$(mktemp -d /tmp/picocenter-badfd.XXXXXX)
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(4)
open(sys.argv[1] + ".ready", "w").close()
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$OUT_DIR/out.sock" &
OUT_PID=$!
trap 'kill $OUT_PID 2>/dev/null; rm -rf "$OUT_DIR"' EXIT
for _ in $(seq 200); do [ -e "$OUT_DIR/out.sock.ready" ] && break; sleep 0.01; done
expect unix_outside "pid 1 fd 42: unix socket connected outside the tree (unsupported)" \
	"$OUT_DIR/out.sock"

# Node.js asked to use io_uring, outside a box (in a box the seccomp filter
# refuses io_uring_setup and libuv falls back: tests/box/t-node-uring): the
# dump fails with one line naming the pid and the io_uring, and the server
# keeps answering.
if command -v node >/dev/null && command -v curl >/dev/null; then
	(
		cr_workdir node-uring
		port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		echo "require('http').createServer((q, r) => r.end('up')).listen($port, '127.0.0.1')" >"$CR_W/srv.js"
		CR_PID=$(UV_USE_IO_URING=1 "$PICOCENTER" cr spawn --log "$CR_W/log" -- node "$CR_W/srv.js") ||
			cr_fail "cr spawn node failed"
		CR_ALL_PIDS+=("$CR_PID")
		up() { [ "$(curl -s --max-time 2 "http://127.0.0.1:$port/")" = up ]; }
		for _ in $(seq 200); do up && break; sleep 0.05; done
		up || cr_fail "node does not answer on port $port"
		ls -l "/proc/$CR_PID/fd" | grep -q 'anon_inode:\[io_uring\]' ||
			cr_fail "node with UV_USE_IO_URING=1 holds no io_uring (the case is not tested)"
		if "$PICOCENTER" cr dump --pid "$CR_PID" --dir "$CR_W/img" 2>"$CR_W/dump.err"; then
			cr_fail "dump of node holding an io_uring succeeded"
		fi
		[ "$(wc -l <"$CR_W/dump.err")" = 1 ] || cr_fail "dump error is not one line: $(cat "$CR_W/dump.err")"
		grep -q "pid 1\b.*io_uring" "$CR_W/dump.err" || cr_fail "dump error '$(cat "$CR_W/dump.err")' lacks pid and io_uring"
		[ -e "$CR_W/img/manifest" ] && cr_fail "a manifest was written"
		up || cr_fail "node no longer answers after the failed dump"
		cr_log "refused: $(cat "$CR_W/dump.err")"
		cr_finish
	) || exit 1
else
	echo "t-bad-fds: node or curl missing, its io_uring case not run"
fi
echo "PASS"

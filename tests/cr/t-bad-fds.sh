#!/bin/bash
# t-bad-fds.sh - fds the dumper cannot carry (io_uring, NETLINK_XFRM and packet
# sockets, a device other than null/zero/random/urandom, a unix socket with
# a file descriptor in flight, a unix stream connected to a process outside
# the tree): the dump fails
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

expect io_uring "pid 1 fd 42: unsupported anon_inode:\[io_uring\]"
expect netlink "pid 1 fd 42: unsupported netlink socket:\["
expect packet "pid 1 fd 42: unsupported packet socket:\["
expect device "pid 1 fd 42: unsupported device /dev/full (char 1:7)"
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
echo "PASS"

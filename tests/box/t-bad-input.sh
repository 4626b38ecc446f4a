#!/bin/bash
# t-bad-input.sh - bad box flags and boxes that cannot be made: a missing
# or relative rootfs, malformed or out-of-range port specs, a host port
# taken by a host process or by another box, invalid sizes and counts, bad
# or duplicate names, a command that does not exist, an exhausted or bad uid
# pool.  Each fails with a
# one-line error and leaves nothing behind (no box dir, cgroup, veth,
# nftables element or mount); a box that was there before is untouched.
d=$(dirname "$0"); . "$d/lib.sh"
b_need python3 curl
b_init bad-input
N=bad-$$

# expect_error WHAT PATTERN FLAGS... -- CMD...: spawn must fail with one
# line matching PATTERN, and leave nothing of box $N.
expect_error() {
	local what=$1 pat=$2 err rc
	shift 2
	err=$("$PICOCENTER" cr spawn --name "$N" --box-dir "$B_BOXES" --bridge "$B_BRIDGE" \
		--subnet "$B_SUBNET" "$@" 2>&1 >/dev/null)
	rc=$?
	[ $rc != 0 ] || b_fail "$what: spawn succeeded"
	[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || b_fail "$what: not one line: $err"
	printf '%s' "$err" | grep -Eq "$pat" || b_fail "$what: '$err' lacks /$pat/"
	b_leftovers "$N"
	b_log "$what: $err"
}

expect_error "missing rootfs" "rootfs /nonexistent-$$: No such file" --rootfs "/nonexistent-$$" -- true
expect_error "relative rootfs" "absolute directory" --rootfs "relative/dir" -- true
touch "$B_DIR/file"
expect_error "rootfs is a file" "not a directory" --rootfs "$B_DIR/file" -- true
for spec in 99999:80 0:80 80 abc:80 8080:70000 1.2.3:8080:80 8080:80/sctp :80 8080:; do
	expect_error "port '$spec'" "bad port '$spec'" --port "$spec" -- true
done
for spec in '[::2:8080:80' '[zz::1]:8080:80' '[fd00::2]:8080' '[fd00::2]8080:80' '[1.2.3.4]:8080:80'; do
	expect_error "port '$spec'" "bad port '\\[" --port "$spec" -- true
done
P=$(b_port)
python3 -c "import socket,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $P)); s.listen(); time.sleep(60)" &
B_PIDS+=($!)
b_wait "the host listener on $P" bash -c "exec 3<>/dev/tcp/127.0.0.1/$P"
expect_error "port taken by a host process" "port $P/tcp: Address already in use" \
	--port "127.0.0.1:$P:80" -- true
for size in 10 1X -5 4K 2000000G ""; do
	expect_error "memory '$size'" "memory" --memory "$size" -- true
done
for n in 0 abc -1 99999999999; do
	expect_error "pids '$n'" "pids" --pids "$n" -- true
done
expect_error "bad subnet" "bad subnet" --subnet 10.1.2.3/33 -- true
for s6 in fd00::/40 fd00::1/64 fd00::/97 10.1.0.0/16 fd00:: ""; do
	expect_error "subnet6 '$s6'" "bad subnet6" --subnet6 "$s6" -- true
done
expect_error "::1 published" "::1 cannot be published" --port "[::1]:$(b_port):80" -- true
P6=$(b_port)
python3 -c "import socket,time
s=socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.bind(('::1', $P6)); s.listen(); time.sleep(60)" &
B_PIDS+=($!)
b_wait "the host listener on [::1]:$P6" python3 -c "import socket; socket.create_connection(('::1', $P6))"
expect_error "port taken by a host process on IPv6" "port $P6/tcp: Address already in use" \
	--port "$P6:80" -- true
expect_error "command missing" "exec /nonexistent-cmd-$$" -- "/nonexistent-cmd-$$"
err=$("$PICOCENTER" cr spawn --name "Bad_Name" --box-dir "$B_BOXES" -- true 2>&1)
[ $? != 0 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || b_fail "bad name accepted: $err"

# A box that exists stays as it was when another spawn wants its name or
# its published port.
Q=$(b_port)
b_spawn keep --port "$Q:80" -- sleep 600 || b_fail "spawn of the box to keep failed"
KEEP=$B_PID
cfg=$(cat "$B_BOXES/keep-$$/config")
N=other-$$
expect_error "port taken by another box" "taken by another box" --port "$Q:81" -- true
BASE=$(sed -n 's/^uid_base=//p' "$B_BOXES/keep-$$/config")
expect_error "uid range exhausted" "uid range exhausted" --uid-pool "$BASE:65536" -- true
for pool in 0:65536 1000:5 abc 65536 70000:0 4294901760:65536; do
	expect_error "uid pool '$pool'" "bad uid pool" --uid-pool "$pool" -- true
done
expect_error "uids" "bad --uids" --uids 10 -- true
err=$("$PICOCENTER" cr spawn --name "keep-$$" --box-dir "$B_BOXES" --bridge "$B_BRIDGE" \
	--subnet "$B_SUBNET" -- true 2>&1)
[ $? != 0 ] || b_fail "a second box with the same name was made"
printf '%s' "$err" | grep -q "exists" || b_fail "duplicate name: '$err'"
[ "$(cat "$B_BOXES/keep-$$/config")" = "$cfg" ] || b_fail "the kept box's record changed"
kill -0 "$KEEP" || b_fail "the kept box's process died"
nft list map ip picocenter dnat_any | grep -q " $Q : " || b_fail "the kept box lost its port"
[ -n "$(ip -o link show master "$B_BRIDGE")" ] || b_fail "the kept box lost its veth"
"$PICOCENTER" box rm --box-dir "$B_BOXES" "keep-$$" || b_fail "box rm"
b_leftovers "keep-$$"
b_log PASS

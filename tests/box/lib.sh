# lib.sh - shared by the box tests (tests/box/t-*.sh).
#
# Each test has boxes of its own: a box dir in its work dir, a bridge
# (pcbt<pid>) and a /24 subnet made from its pid, box names ending in its
# pid (cgroup names are machine-wide), host ports from b_port.  The EXIT
# trap removes every box the test made, its bridge and its work dir, even
# on failure.  b_leftovers checks that a box left nothing behind: box dir,
# cgroup, veth, nftables element or mount.

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PICOCENTER=${PICOCENTER:-$ROOT/build/picocenter}
B_TIMEOUT=${B_TIMEOUT:-10}

B_NAME=         # test name
B_DIR=          # work dir (configs, logs, images)
B_BOXES=        # the test's box dir (--box-dir)
B_BRIDGE=pcbt$$
B_NET=10.$((64 + $$ % 64)).$((($$ / 64) % 256))
B_SUBNET=$B_NET.0/24
# the IPv6 subnet boxes of B_SUBNET get (addr6.c): fd70:6963:6f00:XXYY::/64
B_NET6=fd70:6963:6f00:$(printf '%x' $(((64 + $$ % 64) * 256 + ($$ / 64) % 256))):
B_PID=          # host pid of the tree b_spawn or b_cycle started last
B_PIDS=()       # host pids the test started (killed at exit)
B_PORTS=()

b_log() { echo "[$(date +%T.%3N)] $B_NAME: $*"; }

b_fail() {
	local f
	b_log "FAIL: $*"
	for f in "$B_DIR"/*.log; do
		[ -s "$f" ] || continue
		echo "--- last lines of $f:"
		tail -n 15 "$f"
	done
	exit 1
}

b_cleanup() {
	local p n
	for p in "${B_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for n in "$B_DIR"/boxes*/*/; do
		[ -d "$n" ] && "$PICOCENTER" box rm --box-dir "$(dirname "$n")" "$(basename "$n")"
	done
	ip link del "$B_BRIDGE" 2>/dev/null
	[ -n "$B_DIR" ] && [ "${B_KEEP:-0}" = 0 ] && rm -rf "$B_DIR"
	return 0
}

# b_hold_cleanup OUT...: remove the chains and sets (both families) of the
# queues `box hold` printed as "armed Q" in the files OUT (a failed test's
# hold that did not remove them).
b_hold_cleanup() {
	local q f
	for q in $(cat "$@" 2>/dev/null | awk '$1 == "armed" { print $2 }'); do
		for f in ip ip6; do
			nft delete chain $f picocenter_hold "hold_$q" 2>/dev/null
			nft delete set $f picocenter_hold "hold_$q" 2>/dev/null
		done
	done
	return 0
}

# b_hold_start NAME IMG FAMILY N OUT PIDFILE: `box hold` for the asleep box
# NAME (full name) in the background (B_HOLD = its pid; its output in OUT,
# its errors in OUT.log), armed; its hook waits until the queue's chain of
# FAMILY (ip or ip6) counted N packets, then restores IMG into the box and
# writes the new pid into PIDFILE.
b_hold_start() {
	local name=$1 img=$2 fam=$3 n=$4 out=$5 pidfile=$6
	cat >"$out.hook" <<HOOK
#!/bin/sh
q=\$(awk '\$1 == "armed" { print \$2 }' $out)
for i in \$(seq 300); do
	[ "\$(nft list chain $fam picocenter_hold hold_\$q 2>/dev/null | grep -o 'packets [0-9]*' | cut -d' ' -f2)" -ge $n ] && break
	sleep 0.01
done
"$PICOCENTER" cr restore --dir "$img" --box-dir "$B_BOXES" >$pidfile
HOOK
	chmod +x "$out.hook"
	"$PICOCENTER" box hold --box-dir "$B_BOXES" --timeout 30 "$name" -- "$out.hook" \
		>"$out" 2>"$out.log" &
	B_HOLD=$!
	B_PIDS+=("$B_HOLD")
	for _ in $(seq 500); do grep -q armed "$out" && break; sleep 0.01; done
	grep -q armed "$out" || b_fail "box hold did not arm: $(cat "$out.log")"
}

# b_need PROG...: missing programs fail the test (scripts/deps.sh installs them).
b_need() {
	local p
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 || b_fail "$p not installed (scripts/deps.sh)"
	done
}

# b_init NAME: work dir, cleanup trap.  Boxes from `host` see only the
# root filesystem, so the work dir must be on it.
b_init() {
	B_NAME=$1
	[ -x "$PICOCENTER" ] || b_fail "no $PICOCENTER (run make)"
	[ "$(id -u)" = 0 ] || { echo "$B_NAME: needs root"; exit 77; }
	B_DIR=$(mktemp -d /tmp/picocenter-box-"$B_NAME".XXXXXX) || exit 1
	chmod 755 "$B_DIR"
	B_BOXES=$B_DIR/boxes
	trap b_cleanup EXIT
	trap 'exit 1' INT TERM
	if [ "$(stat -c %d /)" != "$(stat -c %d "$B_DIR")" ]; then
		echo "$B_NAME: /tmp is not on the root filesystem, boxes from host cannot see it"
		exit 77
	fi
}

b_port_used() {
	local hex f
	hex=$(printf '%04X' "$1")
	for f in /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6; do
		awk -v p=":$hex" 'NR > 1 && substr($2, length($2) - 4) == p { found = 1 }
			END { exit !found }' "$f" && return 0
	done
	nft list map ip picocenter dnat_any 2>/dev/null | grep -q " $1 :" && return 0
	return 1
}

# b_port: a host port that nothing uses, below the ephemeral range.
b_port() {
	local p i q
	for i in $(seq 200); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		for q in "${B_PORTS[@]}"; do [ "$q" = "$p" ] && continue 2; done
		b_port_used "$p" && continue
		B_PORTS+=("$p")
		echo "$p"
		return 0
	done
	b_fail "no free port found"
}

# b_spawn NAME [FLAGS...] -- CMD...: cr spawn in a box of the test's own;
# B_PID = the tree's host pid.  The box name gets the test's pid appended.
b_spawn() {
	local name=$1-$$
	shift
	B_PID=$("$PICOCENTER" cr spawn --name "$name" --box-dir "$B_BOXES" --bridge "$B_BRIDGE" \
		--subnet "$B_SUBNET" --log "$B_DIR/$name.log" "$@") || return 1
	B_PIDS+=("$B_PID")
}

# b_addr NAME: the box's address (from `box ls`).
b_addr() {
	"$PICOCENTER" box ls --box-dir "$B_BOXES" | awk -v n="$1-$$" '$1 == n { print $2 }'
}

# b_addr6 NAME: the box's IPv6 address (the last column of `box ls`).
b_addr6() {
	"$PICOCENTER" box ls --box-dir "$B_BOXES" | awk -v n="$1-$$" '$1 == n { print $NF }'
}

# b_wait WHAT CMD...: retry CMD until it succeeds or B_TIMEOUT passes.
b_wait() {
	local what=$1 i
	shift
	for i in $(seq $((B_TIMEOUT * 20))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	b_fail "timed out waiting for $what"
}

# b_cycle NAME PID IMG: dump the tree PID of box NAME into IMG (the old
# tree must be gone) and restore it; B_PID = the new host pid.  B_BETWEEN:
# a command run between the two (e.g. putting the box to sleep).
b_cycle() {
	local pid=$2 img=$3 i
	rm -rf "$img"
	"$PICOCENTER" cr dump --pid "$pid" --dir "$img" --box-dir "$B_BOXES" ${B_DUMP_ARGS:-} >&2 ||
		b_fail "dump of $1 (pid $pid) failed"
	for i in $(seq 100); do [ -d "/proc/$pid" ] || break; sleep 0.02; done
	[ -d "/proc/$pid" ] && b_fail "pid $pid still there after its dump"
	if [ -n "${B_BETWEEN:-}" ]; then $B_BETWEEN || b_fail "$B_BETWEEN"; fi
	B_PID=$("$PICOCENTER" cr restore --dir "$img" --box-dir "$B_BOXES") ||
		b_fail "restore of $1 failed"
	B_PIDS+=("$B_PID")
}

# b_cycle_moved NAME PID IMG: "another machine": dump the tree PID of box
# NAME into IMG, remove the box (nothing may be left of it) and restore
# the image with an empty box dir, which makes the box again from the
# image; B_BOXES becomes that dir, B_PID the new host pid.  B_BETWEEN_RM:
# a command run once the box is removed, before the restore.
B_MOVES=0
b_cycle_moved() {
	local n=$1-$$ i
	rm -rf "$3"
	"$PICOCENTER" cr dump --pid "$2" --dir "$3" --box-dir "$B_BOXES" >&2 ||
		b_fail "dump of $1 (pid $2) failed"
	for i in $(seq 100); do [ -d "/proc/$2" ] || break; sleep 0.02; done
	[ -d "/proc/$2" ] && b_fail "pid $2 still there after its dump"
	"$PICOCENTER" box rm --box-dir "$B_BOXES" "$n" || b_fail "box rm $n before the move"
	b_leftovers "$n"
	if [ -n "${B_BETWEEN_RM:-}" ]; then $B_BETWEEN_RM || b_fail "$B_BETWEEN_RM"; fi
	B_MOVES=$((B_MOVES + 1))
	B_BOXES=$B_DIR/boxes-moved-$B_MOVES
	B_PID=$("$PICOCENTER" cr restore --dir "$3" --box-dir "$B_BOXES") ||
		b_fail "restore of $1 into an empty box dir failed"
	B_PIDS+=("$B_PID")
}

# b_done NAME: remove box NAME (full name), which must leave nothing, and pass.
b_done() {
	"$PICOCENTER" box rm --box-dir "$B_BOXES" "$1" || b_fail "box rm $1"
	b_leftovers "$1"
	b_log PASS
}

# b_veth ADDR: the host end of the veth of the box with address ADDR.
b_veth() {
	local IFS=.
	set -- $1
	printf 'pc%02x%02x%02x%02x' "$1" "$2" "$3" "$4"
}

# b_leftovers NAME: fail if anything of box NAME (full name) is left: box
# dir, cgroup, veth, nftables element of either family, mount (its
# namespaces are mounts too); the test's other boxes that still exist may
# keep theirs.
b_leftovers() {
	local n=$1 c a d keep=() l pre
	[ -e "$B_BOXES/$n" ] && b_fail "box dir $B_BOXES/$n left behind"
	c=$(find /sys/fs/cgroup -maxdepth 6 -type d \( -name "pcbox-$n" -o -name "pcbox-????????-$n" \) 2>/dev/null | head -1)
	[ -n "$c" ] && b_fail "cgroup $c left behind"
	for d in "$B_DIR"/boxes*; do   # every box dir of the test's
		[ -d "$d" ] || continue
		for a in $("$PICOCENTER" box ls --box-dir "$d" | awk '{ print $2; print $NF }'); do
			keep+=("$a")
		done
	done
	for l in $(ip -o link show master "$B_BRIDGE" 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
		for a in "${keep[@]}"; do [[ $a == *.* ]] && [ "$l" = "$(b_veth "$a")" ] && continue 2; done
		b_fail "veth $l is left on $B_BRIDGE"
	done
	for a in $(nft list table ip picocenter 2>/dev/null | grep -o "$B_NET\.[0-9]*" | sort -u); do
		[[ " ${keep[*]} " == *" $a "* ]] && continue
		b_fail "an nftables element with $a is left: $(nft list table ip picocenter | grep -F "$a")"
	done
	# the bridge's own address is a host address of published ports
	keep+=($(ip -6 -o addr show dev "$B_BRIDGE" scope global 2>/dev/null | awk '{ print $4 }' | cut -d/ -f1))
	for a in $(nft list table ip6 picocenter 2>/dev/null | grep -o "$B_NET6[0-9a-f:]*" | sort -u); do
		[[ " ${keep[*]} " == *" $a "* ]] && continue
		b_fail "an IPv6 nftables element with $a is left: $(nft list table ip6 picocenter | grep -F "$a")"
	done
	# a veth of the test's subnet, on the bridge or not
	pre=$(b_veth "$B_NET.0" | cut -c1-8)
	for l in $(ip -o link show 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1 | grep "^$pre"); do
		for a in "${keep[@]}"; do
			[[ $a == *.* ]] && [ "$l" = "$(b_veth "$a")" ] && continue 2
		done
		b_fail "veth $l is left"
	done
	grep -q "$B_BOXES/$n/" /proc/self/mountinfo &&
		b_fail "a mount is left under $B_BOXES/$n: $(grep "$B_BOXES/$n/" /proc/self/mountinfo | head -3)"
	return 0
}

# b_in PID CMD...: run CMD in every namespace of the tree PID, as the box's
# root (its user namespace too: ids as the box sees them; for checks from
# inside, not for isolation attempts: no seccomp filter, every capability).
b_in() {
	local pid=$1
	shift
	nsenter -t "$pid" -U -m -u -i -n -p -r -w "$@"
}

# b_lighttpd_conf WWW: $B_DIR/lighttpd.conf, serving .txt files from WWW
# (a path inside the box) on port 80.
b_lighttpd_conf() {
	cat >"$B_DIR/lighttpd.conf" <<CONF
server.document-root = "$1"
server.port = 80
server.errorlog = "$1.err"
server.modules = ( "mod_staticfile" )
mimetype.assign = ( ".txt" => "text/plain" )
CONF
}

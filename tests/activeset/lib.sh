# lib.sh - helpers of the ActiveSet tests (sourced): the working-set
# program (progs/wsprog.c) run as a tree, dumped to and restored from a
# store, and the page server's counters.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
PICOCENTER=${PICOCENTER:-$ROOT/build/picocenter}
TBIN=${TBIN:-$ROOT/build/tests}
WS=$TBIN/activeset/wsprog
A_PIDS=()
A_W=$(mktemp -d "${TEST_TMP:-/tmp}/activeset.XXXXXX")
A_NAME=$(basename "$0" .sh)

a_log() { echo "[$(date +%T.%3N)] $A_NAME: $*"; }
a_fail() { a_log "FAIL: $*"; exit 1; }

a_cleanup() {
	local p
	for p in "${A_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$A_W"
}
trap a_cleanup EXIT
trap 'exit 1' INT TERM

# a_port: a UDP/TCP port free on loopback, below the ephemeral range.
a_port() {
	local p hex q
	read -r q _ </proc/sys/net/ipv4/ip_local_port_range
	for _ in $(seq 200); do
		p=$((10000 + (RANDOM * 32768 + RANDOM) % (q - 10001)))
		hex=$(printf ':%04X ' "$p")
		grep -q "$hex" /proc/net/udp /proc/net/tcp /proc/net/udp6 /proc/net/tcp6 2>/dev/null ||
			{ echo "$p"; return 0; }
	done
	a_fail "no free port"
}

# a_spawn PORT T: start the working-set server; sets A_PID.
a_spawn() {
	A_PID=$("$PICOCENTER" cr spawn --log "$A_W/log" -- "$WS" serve "$1" "$2") ||
		a_fail "spawn"
	A_PIDS+=("$A_PID")
	for _ in $(seq 200); do
		grep -q ready "$A_W/log" 2>/dev/null && return 0
		sleep 0.05
	done
	a_fail "wsprog did not start"
}

# a_dump URL IMAGE: swap the tree out (it is gone afterwards).
a_dump() {
	"$PICOCENTER" cr dump --pid "$A_PID" --store "$1" --image "$2" ||
		a_fail "dump to $1"
}

# a_restore URL IMAGE [ARGS...]: revive it; sets A_PID.
a_restore() {
	local url=$1 image=$2
	shift 2
	A_PID=$("$PICOCENTER" cr restore --store "$url" --image "$image" "$@") ||
		a_fail "restore from $url"
	A_PIDS+=("$A_PID")
}

# a_ask PORT START N GEN: the server's checksum of pages START..+N must be
# the one of generation GEN (wsprog checks it).
a_ask() { "$WS" ask "$@" || a_fail "wrong answer for pages $2+$3 (gen $4)"; }

# a_stat NAME: one counter of the tree's page server (cr memstat).
a_stat() {
	"$PICOCENTER" cr memstat --pid "$A_PID" |
		sed -n "s/.*\"$1\":\([0-9a-z]*\).*/\1/p"
}

# lib.sh - sourced by the tests of tests/s3: the S3 server's environment
# (written by setup.sh) and small helpers.
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
TBIN=${TBIN:-$ROOT/build/tests}
S3ENV=${TEST_TMP:-/tmp}/s3.env
if [ -f "$S3ENV" ]; then
	. "$S3ENV"
else
	eval "$("$ROOT/scripts/s3-server.sh" env)" || { echo "no S3 server (run tests/s3/setup.sh)"; exit 1; }
fi
U=$TBIN/s3/u-s3
BUCKET=pctest
# Each test works under its own prefix of the shared bucket.
URL=s3://$BUCKET/$(basename "$0" .sh)-$$
WORK=$(mktemp -d "${TEST_TMP:-/tmp}/s3test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok   $*"; }

# Milliseconds since the epoch.
ms() { echo $(($(date +%s%N) / 1000000)); }

# Build bench/delayproxy into build/ (it is not part of `make`).
delayproxy() {
	local bin=$ROOT/build/delayproxy
	if [ ! -x "$bin" ] || [ "$ROOT/bench/delayproxy.c" -nt "$bin" ]; then
		cc -std=c17 -O2 -Wall -Wextra -Werror -pthread -o "$bin.tmp.$$" \
			"$ROOT/bench/delayproxy.c" && mv "$bin.tmp.$$" "$bin" || return 1
	fi
	echo "$bin"
}

# Start a delaying proxy in front of radosgw; sets PROXY_PID and PROXY_URL.
start_proxy() {
	local bin port
	bin=$(delayproxy) || fail "cannot build delayproxy"
	"$bin" -t "${AWS_ENDPOINT_URL#http://}" "$@" >"$WORK/proxy.port" &
	PROXY_PID=$!
	for _ in $(seq 50); do
		port=$(head -n 1 "$WORK/proxy.port" 2>/dev/null)
		[ -n "$port" ] && break
		sleep 0.1
	done
	[ -n "$port" ] || fail "delayproxy did not start"
	PROXY_URL=http://127.0.0.1:$port
}

stop_proxy() {
	[ -n "${PROXY_PID:-}" ] && kill "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null
	PROXY_PID=
}

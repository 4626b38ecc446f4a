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

. "$ROOT/bench/lib/delayproxy.sh"

# Start a delaying proxy in front of radosgw; sets PROXY_PID and PROXY_URL.
start_proxy() {
	delayproxy_start "$ROOT" "$WORK/proxy.port" -t "${AWS_ENDPOINT_URL#http://}" "$@" ||
		fail "delayproxy: see above"
	PROXY_PID=$DELAYPROXY_PID
	PROXY_URL=http://127.0.0.1:$DELAYPROXY_PORT
}

stop_proxy() {
	[ -n "${PROXY_PID:-}" ] && kill "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null
	PROXY_PID=
}

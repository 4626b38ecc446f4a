#!/bin/bash
# t-errors.sh - wrong credentials, a missing bucket, an unreachable endpoint
# and a server that never answers: each ends with one clear line on stderr,
# within the timeouts documented in docs/store-s3.md.
. "$(dirname "$0")/lib.sh"

# expect_err WANT_SUBSTRING MAX_MS CMD...: exit 1, one line, in time
expect_err() {
	local want=$1 max=$2 t0 rc lines
	shift 2
	t0=$(ms)
	"$@" >"$WORK/out" 2>"$WORK/err"
	rc=$?
	t=$(($(ms) - t0))
	lines=$(wc -l <"$WORK/err")
	[ $rc = 1 ] || fail "$*: exit $rc, want 1 ($(cat "$WORK/err"))"
	[ "$lines" = 1 ] || fail "$*: $lines lines of error, want 1: $(cat "$WORK/err")"
	grep -qF -- "$want" "$WORK/err" || fail "$*: '$(cat "$WORK/err")' lacks '$want'"
	[ $t -le "$max" ] || fail "$*: took $t ms, more than $max"
	ok "$(cat "$WORK/err") [$t ms]"
}

printf 'x\n' >"$WORK/x"
$U put "$URL" k "$WORK/x" || fail "put"

# A server that accepts connections and never answers, with the default
# limits (3 tries, 10 s under 1 KiB/s each): runs in the background.
start_proxy -d 3600000
SILENT=$PROXY_URL
( expect_err "timed out" 36000 env AWS_ENDPOINT_URL="$SILENT" $U head "$URL" k ) \
	>"$WORK/silent-default.log" 2>&1 &
bg=$!

expect_err "403 SignatureDoesNotMatch (check AWS_SECRET_ACCESS_KEY)" 5000 \
	env AWS_SECRET_ACCESS_KEY=wrongsecret $U get "$URL" k "$WORK/o"
expect_err "403 InvalidAccessKeyId (check AWS_ACCESS_KEY_ID)" 5000 \
	env AWS_ACCESS_KEY_ID=NOSUCHKEY $U put "$URL" k2 "$WORK/x"
expect_err "403" 5000 env AWS_SECRET_ACCESS_KEY=wrongsecret $U head "$URL" k
expect_err "403 SignatureDoesNotMatch" 5000 env AWS_SECRET_ACCESS_KEY=wrongsecret $U ls "$URL"

nb=nosuchbucket-$$
for op in "ls s3://$nb/p" "count s3://$nb/p" "head s3://$nb/p k" "get s3://$nb/p k $WORK/o" \
	  "put s3://$nb/p k $WORK/x" "rm s3://$nb/p k"; do
	expect_err "s3: bucket '$nb' does not exist (404 NoSuchBucket)" 5000 $U $op
done

expect_err "s3: cannot connect to http://127.0.0.1:1: Connection refused" 3000 \
	env AWS_ENDPOINT_URL=http://127.0.0.1:1 $U get "$URL" k "$WORK/o"
expect_err "s3: no credentials" 1000 env -u AWS_ACCESS_KEY_ID $U head "$URL" k
expect_err "bad bucket name 'ab'" 1000 $U head s3://ab/p k
expect_err "endpoint 'ftp://x'" 1000 env AWS_ENDPOINT_URL=ftp://x $U head "$URL" k

# The config file: limits lowered for the silent server, and its errors.
cat >"$WORK/s3.conf" <<CONF
# test limits
low_speed_time = 2
tries = 2
connect_timeout_ms = 1000
CONF
expect_err "timed out (under 1024 bytes/s for 2 s) (gave up after 2 tries)" 6000 \
	env PICOCENTER_S3_CONFIG="$WORK/s3.conf" AWS_ENDPOINT_URL="$SILENT" $U head "$URL" k
printf 'tries = many\n' >"$WORK/bad.conf"
expect_err "bad.conf:1: s3 config: tries = 'many'" 1000 \
	env PICOCENTER_S3_CONFIG="$WORK/bad.conf" $U head "$URL" k
expect_err "s3 config $WORK/none.conf: No such file" 1000 \
	env PICOCENTER_S3_CONFIG="$WORK/none.conf" $U head "$URL" k
# settings from the file alone (no AWS_* variables)
cat >"$WORK/full.conf" <<CONF
endpoint = $AWS_ENDPOINT_URL
region = $AWS_REGION
access_key_id = $AWS_ACCESS_KEY_ID
secret_access_key = $AWS_SECRET_ACCESS_KEY
CONF
env -u AWS_ENDPOINT_URL -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
	PICOCENTER_S3_CONFIG="$WORK/full.conf" $U head "$URL" k >/dev/null || fail "config file alone"
ok "credentials from the config file"

wait $bg; rc=$?
cat "$WORK/silent-default.log"
[ $rc = 0 ] || fail "silent server with the default limits"
stop_proxy

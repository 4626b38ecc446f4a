#!/bin/bash
# t-kill-upload.sh - radosgw is killed in the middle of an upload (slowed
# down by a throttling proxy so that "the middle" is certain): the put fails
# cleanly with one line, the previous version of the object is still
# complete, and once radosgw is back the same upload is retried and succeeds.
# Only radosgw is killed: the OSD keeps its objects in memory.
. "$(dirname "$0")/lib.sh"
SIZE=$((24 << 20))

head -c $SIZE /dev/urandom >"$WORK/old"
head -c $SIZE /dev/urandom >"$WORK/new"
$U put "$URL" img "$WORK/old" || fail "put the previous version"

start_proxy -r 4000000        # 4 MB/s: the upload takes about 6 s
t0=$(ms)
AWS_ENDPOINT_URL=$PROXY_URL $U put "$URL" img "$WORK/new" >"$WORK/put.out" 2>"$WORK/put.err" &
put=$!
sleep 1.5
kill -0 $put 2>/dev/null || fail "the upload ended before the kill: $(cat "$WORK/put.err")"
"$ROOT/scripts/s3-server.sh" kill-rgw || fail "kill-rgw"
wait $put
rc=$?
t=$(($(ms) - t0))
stop_proxy
[ $rc = 1 ] || fail "put with radosgw killed: exit $rc, want 1"
[ "$(wc -l <"$WORK/put.err")" = 1 ] || fail "not one line: $(cat "$WORK/put.err")"
grep -q "s3.*PUT\|s3: cannot connect" "$WORK/put.err" || fail "unclear: $(cat "$WORK/put.err")"
[ $t -lt 20000 ] || fail "the failed put took $t ms"
ok "put failed in $t ms: $(cat "$WORK/put.err")"

"$ROOT/scripts/s3-server.sh" start-rgw || fail "restart radosgw"
$U get "$URL" img "$WORK/got" || fail "get after restart"
cmp -s "$WORK/old" "$WORK/got" || fail "the previous version is not intact"
ok "previous version complete after the interrupted put"

$U put "$URL" img "$WORK/new" || fail "retried put"
$U get "$URL" img "$WORK/got" || fail "get after retry"
cmp -s "$WORK/new" "$WORK/got" || fail "the retried put stored other bytes"
ok "retried put succeeded"

#!/bin/bash
# t-image.sh - images through the store on s3://: put and get back, an
# unchanged re-put uploads almost nothing (dedup), and radosgw killed in the
# middle of an image put leaves the previous image complete; after radosgw
# is back the put is retried and succeeds.
. "$(dirname "$0")/lib.sh"
PC=${PICOCENTER:-$ROOT/build/picocenter}
STORE=$URL

mkdir -p "$WORK/v1" "$WORK/v2"
head -c $((24 << 20)) /dev/urandom >"$WORK/v1/pages"
head -c $((8 << 20)) /dev/zero >>"$WORK/v1/pages"
echo "image v1" >"$WORK/v1/manifest"
head -c $((32 << 20)) /dev/urandom >"$WORK/v2/pages"
echo "image v2" >"$WORK/v2/manifest"

out=$("$PC" store put --store "$STORE" --image app --dir "$WORK/v1") || fail "put v1: $out"
echo "$out"
"$PC" store get --store "$STORE" --image app --dir "$WORK/got1" >/dev/null || fail "get v1"
diff -r "$WORK/v1" "$WORK/got1" || fail "v1 came back different"
ok "image put and get through s3://"

out=$("$PC" store put --store "$STORE" --image app --dir "$WORK/v1") || fail "re-put v1: $out"
echo "$out"
b=$(sed -n 's/.*(\([0-9]*\) bytes written).*/\1/p' <<<"$out")
[ -n "$b" ] && [ "$b" -lt 1048576 ] || fail "unchanged re-put uploaded '$b' bytes"
ok "unchanged re-put uploaded $b bytes"
gen=$(sed -n 's/.*generation \([0-9]*\):.*/\1/p' <<<"$out")

# Interrupted put of v2: the proxy slows each connection to 1 MB/s (at
# most 8 upload threads: the put lasts 4 s or more).
start_proxy -r 1000000
AWS_ENDPOINT_URL=$PROXY_URL "$PC" store put --store "$STORE" --image app --dir "$WORK/v2" \
	>"$WORK/put.out" 2>"$WORK/put.err" &
put=$!
sleep 1.5
kill -0 $put 2>/dev/null || fail "the put ended before the kill: $(cat "$WORK/put.out" "$WORK/put.err")"
"$ROOT/scripts/s3-server.sh" kill-rgw || fail "kill-rgw"
wait $put && fail "the put succeeded with radosgw killed"
stop_proxy
cat "$WORK/put.err"
[ "$(wc -l <"$WORK/put.err")" = 1 ] || fail "not one line of error"
ok "interrupted put failed"

"$ROOT/scripts/s3-server.sh" start-rgw || fail "restart radosgw"
out=$("$PC" store get --store "$STORE" --image app --dir "$WORK/got2") || fail "get after the interrupted put: $out"
echo "$out"
grep -q "generation $gen:" <<<"$out" || fail "newest generation is not $gen"
diff -r "$WORK/v1" "$WORK/got2" || fail "the previous image is not intact"
"$PC" store fsck --store "$STORE" || fail "fsck after the interrupted put"
ok "previous image complete"

out=$("$PC" store put --store "$STORE" --image app --dir "$WORK/v2") || fail "retried put: $out"
echo "$out"
"$PC" store get --store "$STORE" --image app --dir "$WORK/got3" >/dev/null || fail "get v2"
diff -r "$WORK/v2" "$WORK/got3" || fail "v2 came back different"
ok "retried put succeeded"

# rm through s3://: every generation goes, another image stays whole.
"$PC" store put --store "$STORE" --image keep --dir "$WORK/v1" >/dev/null || fail "put keep"
out=$("$PC" store rm --store "$STORE" --image app) || fail "rm app: $out"
echo "$out"
grep -q '^removed image app' <<<"$out" || fail "rm printed no summary"
"$PC" store get --store "$STORE" --image app --dir "$WORK/got4" 2>/dev/null && fail "get of a removed image succeeded"
"$PC" store ls --store "$STORE" | grep -qw app && fail "app still listed after rm"
"$PC" store get --store "$STORE" --image keep --dir "$WORK/got5" >/dev/null || fail "get keep after rm"
diff -r "$WORK/v1" "$WORK/got5" || fail "keep came back different after rm"
"$PC" store rm --store "$STORE" --image app 2>&1 | grep -q "no such image" || fail "second rm did not say no such image"
ok "rm through s3://"

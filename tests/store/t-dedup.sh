#!/bin/bash
# Storing an unchanged 100 MB image again writes < 1 MB; changing one page
# writes about one chunk; inserting a page in the middle writes a few.
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/img"
head -c $((100 * 1048576)) /dev/urandom >"$T/img/raw"
echo v1 >"$T/img/manifest"
out=$(pc store put --store "$STORE" --image big --dir "$T/img") || fail "put 1: $out"
echo "$out"
before=$(du -sb "$T/store" | cut -f1)
out=$(pc store put --store "$STORE" --image big --dir "$T/img") || fail "put 2: $out"
echo "$out"
after=$(du -sb "$T/store" | cut -f1)
b=$(put_bytes "$out")
echo "unchanged re-put: $b chunk bytes written, store grew by $((after - before)) bytes"
[ "$b" -lt 1048576 ] || fail "unchanged re-put wrote $b bytes"
[ $((after - before)) -lt 1048576 ] || fail "store grew by $((after - before)) bytes"

# One page changed in place.
head -c 4096 /dev/urandom | dd of="$T/img/raw" bs=4096 seek=12345 conv=notrunc status=none
out=$(pc store put --store "$STORE" --image big --dir "$T/img") || fail "put 3: $out"
echo "$out"
n=$(put_new "$out"); b=$(put_bytes "$out")
echo "one-page change: $n chunks, $b bytes written"
[ "$n" -ge 1 ] && [ "$n" -le 2 ] || fail "one-page change wrote $n chunks"
[ "$b" -le $((2 * 1048576 + 64)) ] || fail "one-page change wrote $b bytes"

# One page inserted in the middle: later chunks keep their names.
{ head -c $((50 * 1048576)) "$T/img/raw"; head -c 4096 /dev/urandom
  tail -c +$((50 * 1048576 + 1)) "$T/img/raw"; } >"$T/pages2"
mv "$T/pages2" "$T/img/raw"
out=$(pc store put --store "$STORE" --image big --dir "$T/img") || fail "put 4: $out"
echo "$out"
n=$(put_new "$out")
echo "one-page insertion: $n new chunks"
[ "$n" -le 3 ] || fail "insertion wrote $n chunks"
pc store get --store "$STORE" --image big --dir "$T/out" >/dev/null || fail "get"
cmp "$T/img/raw" "$T/out/raw" || fail "latest image differs"
echo PASS

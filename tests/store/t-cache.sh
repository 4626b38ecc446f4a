#!/bin/bash
# A local cache in front of a store: the second get is served from the
# cache; eviction keeps the cache under its limit.
. "$(dirname "$0")/lib.sh"
make_image "$T/img" 9
pc store put --store "$STORE" --image app --dir "$T/img" >/dev/null || fail "put"
nchunks=$(find "$T/store/chunks" -type f | wc -l)
c="--cache $T/cache --cache-size 64M"
out=$(pc store get --store "$STORE" --image app --dir "$T/o1" $c) || fail "get 1"
echo "$out"
grep -q 'cache: 0 hits' <<<"$out" || fail "first get hit a cold cache"
out=$(pc store get --store "$STORE" --image app --dir "$T/o2" $c) || fail "get 2"
echo "$out"
grep -q ' 0 misses' <<<"$out" || fail "second get missed the cache"
hits=$(sed -n 's/cache: \([0-9]*\) hits.*/\1/p' <<<"$out")
[ "$hits" -ge "$nchunks" ] || fail "$hits hits, want >= $nchunks"
cmp "$T/img/raw" "$T/o2/raw" || fail "cached read differs"
# Eviction: a 1 MB cache for a 9 MB image.
out=$(pc store get --store "$STORE" --image app --dir "$T/o5" --cache "$T/small" --cache-size 1M 2>&1) ||
	fail "get through a small cache: $out"
echo "$out"
used=$(find "$T/small" -type f -name '[0-9a-f]*' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
echo "small cache holds $used bytes"
[ "$used" -le 1048576 ] || fail "cache holds $used bytes, limit 1 MiB"
grep -q 'evictions' <<<"$out" && ! grep -q ' 0 evictions' <<<"$out" || fail "no eviction"
# The cache serves reads even when the store lost a chunk ...
gone=$(find "$T/store/chunks" -type f | head -1)
rm -f "$gone"
pc store get --store "$STORE" --image app --dir "$T/o3" $c >/dev/null || fail "cached get"
cmp "$T/img/raw" "$T/o3/raw" || fail "cached read differs"
# ... a corrupt cached chunk fails its hash check, is dropped and read
# again from the store ...
f=$(find "$T/cache/chunks" -type f ! -name "$(basename "$gone")" | head -1)
truncate -s 5 "$f"
pc store get --store "$STORE" --image app --dir "$T/o4" $c >/dev/null || fail "corrupt cached chunk not refetched"
cmp "$T/img/raw" "$T/o4/raw" || fail "refetched read differs"
[ "$(stat -c %s "$f" 2>/dev/null || echo 0)" -gt 5 ] || fail "the bad cached copy was not replaced"
# ... and when the store has lost it too, the error names the chunk.
truncate -s 5 "$T/cache/${gone#$T/store/}"
out=$(pc store get --store "$STORE" --image app --dir "$T/o8" $c 2>&1) && fail "corrupt cache used"
grep -q "chunk $(basename "$gone")" <<<"$out" || fail "unclear: $out"

# Writes go through the cache to the store, and are kept locally.
mkdir -p "$T/img2"; head -c 700000 /dev/urandom >"$T/img2/raw"
pc store put --store "$STORE" --image two --dir "$T/img2" --cache "$T/c2" --cache-size 64M >/dev/null || fail "put via cache"
pc store get --store "$STORE" --image two --dir "$T/o6" >/dev/null || fail "store lacks written-through image"
out=$(pc store get --store "$STORE" --image two --dir "$T/o7" --cache "$T/c2" --cache-size 64M) || fail "get two"
grep -q ' 0 misses' <<<"$out" || fail "written chunks not kept in the cache: $out"
echo PASS

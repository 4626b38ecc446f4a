#!/bin/bash
# A file "pages" is stored by pages (docs/store.md, "Pages"): it survives
# put/get bit for bit; a put after 20 pages changed in place, scattered,
# writes one pack of those pages (a page known to the parent is not
# written again) and the changed chunk of the index; a page damaged in its
# pack fails the get naming it, and fsck names it; a pack no generation
# names goes at gc; a revival through the cache reads pages from the local
# copy of the packs.
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/img"
npages=2048
# Half random, half a repeated page (stored once).
head -c $((npages / 2 * 4096)) /dev/urandom >"$T/img/pages"
head -c 4096 /dev/urandom >"$T/rep"
for _ in $(seq $((npages / 2))); do cat "$T/rep"; done >>"$T/img/pages"
echo "manifest" >"$T/img/manifest"
out=$(pc store put --store "$STORE" --image app --dir "$T/img") || fail "put: $out"
echo "$out"
grep -q "^paged pages $((npages * 4096)) " "$T/store/images/app/"*1 || fail "pages not stored by pages"
[ "$(find "$T/store/packs" -type f | wc -l)" = 1 ] || fail "want one pack"
pack1=$(find "$T/store/packs" -type f)
size1=$(stat -c %s "$pack1")
[ "$size1" -lt $((npages / 2 * 4097 + 8192)) ] || fail "the repeated page was stored more than once ($size1 bytes)"
pc store get --store "$STORE" --image app --dir "$T/o1" >/dev/null || fail "get"
cmp "$T/img/pages" "$T/o1/pages" || fail "pages differ after round trip"

# 20 random pages written in place, one in 100.
for i in $(seq 0 19); do
	head -c 4096 /dev/urandom | dd of="$T/img/pages" bs=4096 seek=$((i * 100 + 7)) conv=notrunc status=none
done
out=$(pc store put --store "$STORE" --image app --dir "$T/img") || fail "put 2: $out"
echo "$out"
written=$(put_bytes "$out")
[ "$(find "$T/store/packs" -type f | wc -l)" = 2 ] || fail "want one new pack"
pack2=$(find "$T/store/packs" -type f ! -path "$pack1")
size2=$(stat -c %s "$pack2")
[ "$size2" -ge $((20 * 4096)) ] && [ "$size2" -le $((20 * 4097)) ] || fail "new pack holds $size2 bytes, want 20 pages"
# Changed pages + the index chunks holding them (1024 entries, 45 KB each).
[ "$written" -le $((size2 + 2 * 45056 + 4096)) ] || fail "wrote $written bytes for 20 pages"
pc store get --store "$STORE" --image app --dir "$T/o2" >/dev/null || fail "get 2"
cmp "$T/img/pages" "$T/o2/pages" || fail "pages differ after the second put"

# Through a cache: the put keeps its packs, a get reads them locally.
c="--cache $T/cache --cache-size 64M"
pc store put --store "$STORE" --image cached --dir "$T/img" $c >/dev/null || fail "put via cache"
pack3=$(find "$T/store/packs" -type f ! -path "$pack1" ! -path "$pack2")
[ -n "$pack3" ] || fail "no pack for image cached"
mv "$pack3" "$T/pack3"   # only the cache has it now
out=$(pc store get --store "$STORE" --image cached --dir "$T/o3" $c) || fail "get via cache"
echo "$out"
mv "$T/pack3" "$pack3"
cmp "$T/img/pages" "$T/o3/pages" || fail "cached pages differ"

# A damaged page: an error naming it, never data; fsck names it.
off=$((size2 / 2))
printf '\x55' | dd of="$pack2" bs=1 seek=$off conv=notrunc status=none
out=$(pc store get --store "$STORE" --image app --dir "$T/o4" 2>&1) && fail "get of a damaged page worked"
echo "$out"
grep -q "page [0-9]* of file pages ([0-9a-f]*, in packs/../$(basename "$pack2")) corrupt" <<<"$out" ||
	fail "get did not name the page"
[ ! -e "$T/o4/pages" ] || fail "damaged pages written"
out=$(pc store fsck --store "$STORE"); rc=$?
echo "$out"
[ $rc = 1 ] && grep -q "bad pages: .*$(basename "$pack2")" <<<"$out" || fail "fsck missed the page"
rm -f "$pack2"
out=$(pc store fsck --store "$STORE"); rc=$?
[ $rc = 1 ] && grep -q "missing pack $(basename "$pack2")" <<<"$out" || fail "fsck missed the pack: $out"

# Packs no generation names go at gc (the images removed, grace 1 s).
pc store rm --store "$STORE" --image app >/dev/null || fail "rm app"
pc store rm --store "$STORE" --image cached >/dev/null || fail "rm cached"
sleep 2
out=$(pc store gc --store "$STORE" --grace 1 2>/dev/null) || fail "gc: $out"
echo "$out"
grep -q "^deleted pack $(basename "$pack1")" <<<"$out" || fail "gc kept an unreferenced pack"
[ -z "$(find "$T/store/packs" -type f)" ] || fail "packs left after gc"
echo PASS

#!/bin/bash
# t-list.sh - listing over more than 1000 keys (ListObjectsV2 pages with
# continuation tokens) and by prefix.
. "$(dirname "$0")/lib.sh"

$U fill "$URL" k 1234 || fail "fill"
n=$($U count "$URL") || fail "count"
[ "$n" = 1234 ] || fail "listed $n keys, want 1234"
$U ls "$URL" >"$WORK/ls" || fail "ls"
[ "$(sort -u "$WORK/ls" | wc -l)" = 1234 ] || fail "duplicate keys listed"
head -n 1 "$WORK/ls" | grep -q '^k000000 8 [0-9]\+$' || fail "first line: $(head -n 1 "$WORK/ls")"
tail -n 1 "$WORK/ls" | grep -q '^k001233 11 ' || fail "last line: $(tail -n 1 "$WORK/ls")"
now=$(date +%s); mt=$(head -n 1 "$WORK/ls" | cut -d' ' -f3)
[ $((now - mt)) -lt 600 ] && [ $((mt - now)) -lt 600 ] || fail "mtime $mt far from now $now"
ok "1234 keys over 2 pages"
[ "$($U count "$URL" k0011)" = 100 ] || fail "prefix k0011"
[ "$($U count "$URL" k0012)" = 34 ] || fail "prefix k0012"
[ "$($U count "$URL" zzz)" = 0 ] || fail "prefix zzz"
ok "prefix listing"
# the prefix of the backend is not visible to the caller, and other
# prefixes do not leak in
$U fill "$URL-other" k 3 || fail "fill other"
[ "$($U count "$URL")" = 1234 ] || fail "other prefix leaked into the listing"
ok "prefix isolation"

#!/bin/bash
# t-basic.sh - put, get, head, list, delete, conditional put and parallel
# ranged gets against radosgw.
. "$(dirname "$0")/lib.sh"

printf 'hello s3\n' >"$WORK/a"
$U put "$URL" dir/a.txt "$WORK/a" || fail "put"
$U get "$URL" dir/a.txt "$WORK/a.out" || fail "get"
cmp "$WORK/a" "$WORK/a.out" || fail "get returned other bytes"
[ "$($U head "$URL" dir/a.txt)" = 9 ] || fail "head size"
ok "put/get/head"

# keys that need percent-encoding
for k in 'sp ace' 'plus+eq=' 'x/y/ü~$&' ; do
	$U put "$URL" "$k" "$WORK/a" || fail "put key '$k'"
	$U get "$URL" "$k" "$WORK/k.out" && cmp -s "$WORK/a" "$WORK/k.out" || fail "get key '$k'"
done
[ "$($U count "$URL")" = 4 ] || fail "list count after odd keys: $($U ls "$URL")"
$U ls "$URL" | grep -q '^x/y/ü~\$& 9 ' || fail "list shows the odd key: $($U ls "$URL")"
ok "keys with special characters"

# empty object
: >"$WORK/empty"
$U put "$URL" empty "$WORK/empty" || fail "put empty"
[ "$($U head "$URL" empty)" = 0 ] || fail "head empty"
$U get "$URL" empty "$WORK/e.out" && [ ! -s "$WORK/e.out" ] || fail "get empty"
ok "empty object"

# absent keys
$U get "$URL" nope "$WORK/x"; [ $? = 3 ] || fail "get absent != 3"
$U head "$URL" nope; [ $? = 3 ] || fail "head absent != 3"
ok "absent key"

# conditional put: If-None-Match
printf 'first\n' >"$WORK/c1"; printf 'second\n' >"$WORK/c2"
$U put "$URL" cond "$WORK/c1" -n || fail "conditional put of a new key"
$U put "$URL" cond "$WORK/c2" -n; [ $? = 3 ] || fail "conditional put over an existing key != 3"
$U get "$URL" cond "$WORK/c.out" && cmp -s "$WORK/c1" "$WORK/c.out" || fail "conditional put overwrote"
ok "conditional put conflict"

# delete, twice
$U rm "$URL" cond || fail "rm"
$U head "$URL" cond; [ $? = 3 ] || fail "key still there after rm"
$U rm "$URL" cond || fail "rm of an absent key"
ok "delete"

# parallel ranged gets of a 20 MB object, odd chunk size
sum=$($U put-random "$URL" big 20000000) || fail "put big"
for chunk in 1048576 300001 20000000; do
	got=$($U getmany "$URL" big 20000000 $chunk) || fail "getmany chunk $chunk"
	[ "$got" = "$sum" ] || fail "getmany chunk $chunk: sha256 $got != $sum"
done
$U getmany "$URL" big 20000001 1048576 2>"$WORK/err"; [ $? = 1 ] || fail "range past the end accepted"
ok "ranged get_many (sha256 $sum)"

for k in dir/a.txt 'sp ace' 'plus+eq=' 'x/y/ü~$&' empty big; do $U rm "$URL" "$k"; done
[ "$($U count "$URL")" = 0 ] || fail "keys left: $($U ls "$URL")"
ok "cleanup"

#!/bin/bash
# A 20 MB image directory (random, zero and repeated data) survives put/get
# bit for bit, file modes included; ls, du and fsck describe it.
. "$(dirname "$0")/lib.sh"
make_image "$T/img" 20
chmod 0640 "$T/img/manifest"
: >"$T/img/empty"
out=$(pc store put --store "$STORE" --image app1 --dir "$T/img") || fail "put: $out"
echo "$out"
pc store get --store "$STORE" --image app1 --dir "$T/out" || fail "get"
for f in raw manifest empty; do
	cmp "$T/img/$f" "$T/out/$f" || fail "$f differs after round trip"
done
[ "$(stat -c %a "$T/out/manifest")" = 640 ] || fail "mode not kept"
[ -z "$(ls -A "$T/out" | grep '^\.')" ] || fail "temporary files left in $T/out"
pc store ls --store "$STORE" | tee "$T/ls" | grep -q '^app1 .* 1 ' || fail "ls: $(cat "$T/ls")"
pc store du --store "$STORE" | tee "$T/du"
grep -q 'logical bytes: *20971535' "$T/du" || fail "du logical bytes"
pc store fsck --store "$STORE" || fail "fsck of a good store"
# Errors are clear.
out=$(pc store get --store "$STORE" --image nosuch --dir "$T/x" 2>&1) && fail "get of a missing image worked"
grep -q 'no such image' <<<"$out" || fail "unclear: $out"
out=$(pc store ls --store "$T/store" 2>&1) && fail "URL without scheme accepted"
grep -q 'no scheme' <<<"$out" || fail "unclear: $out"
out=$(pc store put --store "$STORE" --image '../x' --dir "$T/img" 2>&1) && fail "bad name accepted"
grep -q 'bad image name' <<<"$out" || fail "unclear: $out"
echo PASS

#!/bin/bash
# store rm removes every generation of one image and nothing else: the
# image is gone from ls and get, another image sharing its chunks still
# reads back byte for byte, gc then reclaims only the removed image's own
# chunks, and fsck stays clean.  Bad requests fail with a message.
. "$(dirname "$0")/lib.sh"
make_image "$T/img" 6
pc store put --store "$STORE" --image app --dir "$T/img" >/dev/null || fail "put app 1"
head -c 1048576 /dev/urandom | dd of="$T/img/raw" conv=notrunc status=none
pc store put --store "$STORE" --image app --dir "$T/img" >/dev/null || fail "put app 2"
# "other" shares the pages' tail with app and has a file of its own.
mkdir -p "$T/other"
cp "$T/img/raw" "$T/other/raw"
head -c 1048576 /dev/urandom | dd of="$T/other/raw" conv=notrunc status=none
head -c 200000 /dev/urandom >"$T/other/extra"
pc store put --store "$STORE" --image other --dir "$T/other" >/dev/null || fail "put other"
chunks_before=$(find "$T/store/chunks" -type f | wc -l)

out=$(pc store rm --store "$STORE" --image app) || fail "rm app: $out"
echo "$out"
[ "$(grep -c '^removed app generation' <<<"$out")" = 2 ] || fail "rm did not report 2 generations"
grep -q 'removed image app (2 generations)' <<<"$out" || fail "no summary line"
pc store ls --store "$STORE" | tee "$T/ls"
grep -qw app "$T/ls" && fail "app still listed after rm"
grep -qw other "$T/ls" || fail "other no longer listed"
if err=$(pc store get --store "$STORE" --image app --dir "$T/out-app" 2>&1); then
	fail "get of a removed image succeeded"
fi
echo "get app: $err"
pc store get --store "$STORE" --image other --dir "$T/out" >/dev/null || fail "get other"
cmp "$T/other/raw" "$T/out/raw" && cmp "$T/other/extra" "$T/out/extra" || fail "other differs after rm"
pc store fsck --store "$STORE" >/dev/null || fail "fsck after rm"

# Removing does not delete chunks; gc reclaims app's own once they are old.
[ "$(find "$T/store/chunks" -type f | wc -l)" = "$chunks_before" ] || fail "rm deleted chunks"
find "$T/store/chunks" -type f -exec touch -d '2 hours ago' {} +
out=$(pc store gc --store "$STORE") || fail "gc: $out"
deleted=$(grep -c '^deleted' <<<"$out")
echo "gc deleted $deleted chunks"
[ "$deleted" -ge 1 ] || fail "gc reclaimed nothing of the removed image"
pc store fsck --store "$STORE" >/dev/null || fail "fsck after gc"
rm -rf "$T/out"
pc store get --store "$STORE" --image other --dir "$T/out" >/dev/null || fail "get other after gc"
cmp "$T/other/raw" "$T/out/raw" && cmp "$T/other/extra" "$T/out/extra" || fail "other differs after gc"

# Bad requests.
expect_fail() {   # expect_fail WHAT PATTERN CMD...
	local what=$1 pat=$2 out rc
	shift 2
	out=$("$@" 2>&1); rc=$?
	[ "$rc" != 0 ] || fail "$what succeeded"
	grep -q -- "$pat" <<<"$out" || fail "$what: message '$out' lacks '$pat'"
	echo "$what: rc $rc, '$out'" | head -n 1
}
expect_fail "rm of a removed image" "no such image" pc store rm --store "$STORE" --image app
expect_fail "rm of a prefix of a name" "no such image" pc store rm --store "$STORE" --image oth
expect_fail "rm of a bad name" "bad image name" pc store rm --store "$STORE" --image ../other
expect_fail "rm without --image" "usage" pc store rm --store "$STORE"
pc store get --store "$STORE" --image other --dir "$T/out3" >/dev/null || fail "other hurt by the bad requests"
echo PASS

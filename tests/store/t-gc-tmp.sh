#!/bin/bash
# gc also removes the temporary files crashed writers left in a file://
# store (".tmp-*" beside the object they were to become), once they are
# older than the grace, and never a young one (a writer may be at it);
# --dry-run only names them.  The images stay whole.
. "$(dirname "$0")/lib.sh"
make_image "$T/img" 3
pc store put --store "$STORE" --image app --dir "$T/img" >/dev/null || fail "put"
chunk=$(find "$T/store/chunks" -type f | head -n 1)
# What a writer killed between create and rename leaves: one beside a
# chunk, one beside a manifest, and one still young.
old1=$(dirname "$chunk")/.tmp-$(basename "$chunk")-4242-0
old2=$T/store/images/app/.tmp-00000000000000000002-4243-1
young=$(dirname "$chunk")/.tmp-$(basename "$chunk")-4244-2
head -c 5000 /dev/urandom >"$old1"
head -c 300 /dev/urandom >"$old2"
head -c 700 /dev/urandom >"$young"
touch -d '2 hours ago' "$old1" "$old2"

pc store ls --store "$STORE" | grep -c '^app ' | grep -qx 1 || fail "ls sees the temporary files"
out=$(pc store gc --store "$STORE" --dry-run) || fail "dry run: $out"
echo "$out"
[ "$(grep -c '^would delete temporary file' <<<"$out")" = 2 ] || fail "dry run did not name the 2 old temporary files"
[ -e "$old1" ] && [ -e "$old2" ] || fail "dry run deleted a temporary file"
out=$(pc store gc --store "$STORE") || fail "gc: $out"
echo "$out"
[ "$(grep -c '^deleted temporary file' <<<"$out")" = 2 ] || fail "gc did not report 2 temporary files"
grep -q ', 2 temporary files (5300 bytes)' <<<"$out" || fail "summary lacks the 2 files' 5300 bytes"
[ ! -e "$old1" ] && [ ! -e "$old2" ] || fail "an old temporary file is still there"
[ -e "$young" ] || fail "a young temporary file was deleted"
pc store fsck --store "$STORE" >/dev/null || fail "fsck after gc"
pc store get --store "$STORE" --image app --dir "$T/out" >/dev/null || fail "get after gc"
cmp "$T/img/raw" "$T/out/raw" || fail "image differs after gc"
echo PASS

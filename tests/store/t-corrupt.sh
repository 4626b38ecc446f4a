#!/bin/bash
# A chunk corrupted or deleted behind the store's back: get fails naming
# the chunk (and writes no bad data), fsck exits 1 naming it.
. "$(dirname "$0")/lib.sh"
make_image "$T/img" 6
pc store put --store "$STORE" --image app --dir "$T/img" >/dev/null || fail "put"
chunks=($(find "$T/store/chunks" -type f | sort))
[ ${#chunks[@]} -ge 3 ] || fail "expected several chunks"

# Flip one byte in the middle of a chunk.
victim=${chunks[1]}; hash=$(basename "$victim")
size=$(stat -c %s "$victim")
byte=$(od -An -tu1 -j $((size / 2)) -N1 "$victim" | tr -d ' ')
printf "$(printf '\\%03o' $(((byte + 1) % 256)))" |
	dd of="$victim" bs=1 seek=$((size / 2)) conv=notrunc status=none
out=$(pc store get --store "$STORE" --image app --dir "$T/out" 2>&1) && fail "get of a corrupt image worked"
echo "$out"
grep -q "chunk $hash corrupt" <<<"$out" || fail "get did not name chunk $hash"
[ ! -e "$T/out/raw" ] || fail "corrupt data was written to $T/out/raw"
[ -z "$(ls -A "$T/out" 2>/dev/null | grep '^\.')" ] || fail "temporary files left"
out=$(pc store fsck --store "$STORE"); rc=$?
echo "$out"
[ $rc = 1 ] || fail "fsck exit $rc, want 1"
grep -q "bad chunk $hash" <<<"$out" || fail "fsck did not name $hash"

# A truncated chunk too.
victim2=${chunks[2]}; hash2=$(basename "$victim2")
cp "$victim2" "$T/saved"
truncate -s 10 "$victim2"
out=$(pc store fsck --store "$STORE"); rc=$?
[ $rc = 1 ] && grep -q "bad chunk $hash2" <<<"$out" || fail "fsck missed truncated $hash2: $out"

cp "$T/saved" "$victim2"

# Deleted.
rm -f "$victim"
out=$(pc store get --store "$STORE" --image app --dir "$T/out" 2>&1) && fail "get with a missing chunk worked"
echo "$out"
grep -q "chunk $hash missing" <<<"$out" || fail "get did not name missing $hash"
out=$(pc store fsck --store "$STORE"); rc=$?
echo "$out"
[ $rc = 1 ] && grep -q "missing chunk $hash" <<<"$out" || fail "fsck did not name missing $hash"

# A tampered store manifest is refused, never used.
m=$(find "$T/store/images" -type f | head -1)
sed -i 's/^created .*/created 1/' "$m"
out=$(pc store get --store "$STORE" --image app --dir "$T/out" 2>&1) && fail "tampered manifest used"
grep -q 'checksum mismatch' <<<"$out" || fail "unclear: $out"
echo PASS

#!/bin/bash
# The store's disk is full: a put fails with a clear error, the previous
# image is still readable and fsck-clean, and no temporary file is left.
. "$(dirname "$0")/lib.sh"
mnt=$T/mnt
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=2m tmpfs "$mnt" 2>/dev/null; then
	echo "cannot mount a tmpfs here"
	exit 77
fi
cleanup() { umount "$mnt" 2>/dev/null; }
STORE=file://$mnt/store
mkdir -p "$T/small" "$T/big"
head -c 500000 /dev/urandom >"$T/small/raw"; echo small >"$T/small/manifest"
head -c 4000000 /dev/urandom >"$T/big/raw"; echo big >"$T/big/manifest"
pc store put --store "$STORE" --image app --dir "$T/small" || fail "first put"
out=$(pc store put --store "$STORE" --image app --dir "$T/big" 2>&1) && fail "put of 4 MB into 2 MB worked"
echo "$out"
grep -q 'No space left on device' <<<"$out" || fail "unclear error: $out"
leftover=$(find "$mnt" -name '.*' | grep -v "^$mnt\$")
[ -z "$leftover" ] || fail "temporary files left: $leftover"
pc store get --store "$STORE" --image app --dir "$T/out" || fail "old image unreadable"
cmp "$T/small/raw" "$T/out/raw" && cmp "$T/small/manifest" "$T/out/manifest" || fail "old image changed"
pc store fsck --store "$STORE" || fail "fsck after a full disk"
pc store ls --store "$STORE"
echo PASS

#!/bin/bash
# gc removes only unreferenced chunks older than the grace, never a
# referenced one; --dry-run removes nothing.
. "$(dirname "$0")/lib.sh"
make_image "$T/img" 6
pc store put --store "$STORE" --image app --dir "$T/img" >/dev/null || fail "put 1"
gen1=$(find "$T/store/chunks" -type f | sort)
# Generations 2 and 3 change the random part; generation 1 is pruned, so
# its own chunks become unreferenced.
for g in 2 3; do
	head -c 2097152 /dev/urandom | dd of="$T/img/raw" conv=notrunc status=none
	pc store put --store "$STORE" --image app --dir "$T/img" >/dev/null || fail "put $g"
done
ls "$T/store/images/app"
[ "$(ls "$T/store/images/app" | wc -l)" = 2 ] || fail "want 2 generations kept"
# A second image sharing nothing, and a stray chunk nobody references.
mkdir -p "$T/img2"; head -c 300000 /dev/urandom >"$T/img2/raw"
pc store put --store "$STORE" --image other --dir "$T/img2" >/dev/null || fail "put other"
mkdir -p "$T/store/chunks/00"
stray=$T/store/chunks/00/00$(printf '%062d' 7)
echo junk >"$stray"

pc store fsck --store "$STORE" | tee "$T/fsck" || fail "fsck before gc"
referenced=$(sed -n 's/.* \([0-9]*\) chunks referenced.*/\1/p' "$T/fsck")

# Everything is young: nothing goes.
out=$(pc store gc --store "$STORE") || fail "gc: $out"
echo "$out"
grep -q ' 0 deleted' <<<"$out" || fail "gc deleted young chunks"

# Age every chunk by two hours; refresh the stray one (young, unreferenced).
find "$T/store/chunks" -type f -exec touch -d '2 hours ago' {} +
touch "$stray"
unref_old=$(pc store gc --store "$STORE" --dry-run | grep -c '^would delete') 
[ "$unref_old" -ge 1 ] || fail "dry run found nothing to delete"
n_before=$(find "$T/store/chunks" -type f | wc -l)
out=$(pc store gc --store "$STORE" --dry-run)
[ "$(find "$T/store/chunks" -type f | wc -l)" = "$n_before" ] || fail "dry run deleted"
out=$(pc store gc --store "$STORE") || fail "gc: $out"
echo "$out"
deleted=$(grep -c '^deleted' <<<"$out")
[ "$deleted" = "$unref_old" ] || fail "deleted $deleted, dry run said $unref_old"
[ -e "$stray" ] || fail "a young unreferenced chunk was deleted"
n_after=$(find "$T/store/chunks" -type f | wc -l)
[ "$n_after" = $((referenced + 1)) ] || fail "$n_after chunks left, want $referenced referenced + 1 young"
# Nothing referenced went: both images read back and fsck is clean.
pc store fsck --store "$STORE" || fail "fsck after gc"
pc store get --store "$STORE" --image app --dir "$T/out" >/dev/null || fail "get app"
cmp "$T/img/raw" "$T/out/raw" || fail "app differs after gc"
pc store get --store "$STORE" --image other --dir "$T/out2" >/dev/null || fail "get other"
# With a short grace the young stray goes too.
sleep 2
pc store gc --store "$STORE" --grace 1 2>/dev/null | grep -q "deleted chunk 00" || fail "grace 1 kept the stray chunk"
[ ! -e "$stray" ] || fail "stray chunk still there"
pc store fsck --store "$STORE" || fail "fsck at the end"
# A put reusing an old, unreferenced chunk makes it young again (GC rule).
find "$T/store/chunks" -type f -exec touch -d '2 hours ago' {} +
pc store put --store "$STORE" --image third --dir "$T/img2" >/dev/null || fail "put third"
old=$(find "$T/store/chunks" -type f -mmin +60 | wc -l)
pc store gc --store "$STORE" >/dev/null || fail "gc"
pc store get --store "$STORE" --image third --dir "$T/out3" >/dev/null || fail "get third"
echo PASS

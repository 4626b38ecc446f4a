#!/bin/bash
# Concurrent writers of one image: they cannot both win silently.
. "$(dirname "$0")/lib.sh"
make_image "$T/a" 9
make_image "$T/b" 9
echo a >"$T/a/manifest"; echo b >"$T/b/manifest"
pc store put --store "$STORE" --image app --dir "$T/a" >/dev/null || fail "put base"

# Both build on generation 1: exactly one commits generation 2.
for i in 1 2 3 4 5; do
	pc store put --store "$STORE" --image app --dir "$T/a" --parent $((i)) >"$T/o1" 2>&1 &
	p1=$!
	pc store put --store "$STORE" --image app --dir "$T/b" --parent $((i)) >"$T/o2" 2>&1 &
	p2=$!
	wait $p1; r1=$?; wait $p2; r2=$?
	cat "$T/o1" "$T/o2"
	[ $((r1 + r2)) = 1 ] || fail "round $i: exit codes $r1 and $r2, want one winner"
	grep -q conflict "$T/o1" "$T/o2" || fail "round $i: loser did not report a conflict"
	pc store get --store "$STORE" --image app --dir "$T/out" >/dev/null || fail "get"
	if [ $r1 = 0 ]; then w=a; else w=b; fi
	cmp "$T/$w/raw" "$T/out/raw" && cmp "$T/$w/manifest" "$T/out/manifest" ||
		fail "round $i: the store does not hold the winner's image"
done

# Without --parent: each writer builds on the newest it sees; both may commit
# only one after the other, and the image is always one of them, whole.
for i in 1 2 3; do
	pc store put --store "$STORE" --image app --dir "$T/a" >"$T/o1" 2>&1 & p1=$!
	pc store put --store "$STORE" --image app --dir "$T/b" >"$T/o2" 2>&1 & p2=$!
	wait $p1; r1=$?; wait $p2; r2=$?
	[ $r1 = 0 ] || grep -q conflict "$T/o1" || fail "writer a failed: $(cat "$T/o1")"
	[ $r2 = 0 ] || grep -q conflict "$T/o2" || fail "writer b failed: $(cat "$T/o2")"
	pc store get --store "$STORE" --image app --dir "$T/out" >/dev/null || fail "get"
	cmp -s "$T/a/manifest" "$T/out/manifest" && cmp "$T/a/raw" "$T/out/raw" ||
		{ cmp "$T/b/manifest" "$T/out/manifest" && cmp "$T/b/raw" "$T/out/raw"; } ||
		fail "image is a mix"
done
pc store fsck --store "$STORE" || fail fsck
echo PASS

#!/bin/bash
# t-two-dirs.sh - two box dirs on one host (two daemons' state dirs): each
# has a box of the same name, web, and both run, answer and go through 2
# dump/restore cycles (host cgroup names carry the dir's id); their uid
# ranges are disjoint (allocated machine-wide from the registry of box
# dirs), and a pool holding only the other dir's range is exhausted, with
# one line and nothing left.  A dump given the other dir is refused.  An
# image of A's box restored into an empty third dir while A's box still
# holds its range takes another range, its writable layer re-owned.  A
# dir whose last box is removed leaves the registry.
d=$(dirname "$0"); . "$d/lib.sh"
b_need python3 curl flock
b_init two-dirs
N=web-$$
A=$B_DIR/boxes-a
B=$B_DIR/boxes-b
C=$B_DIR/boxes-c
REG=/var/lib/picocenter/box-dirs

# The registry's lines of this test's dirs go with them (under the lock
# the allocations take).
drop_registry() {
	[ -f "$REG" ] && flock /run/picocenter/.lock sed -i "\\|^$B_DIR/|d" "$REG"
	return 0
}
trap 'b_cleanup; drop_registry' EXIT

base_of() { sed -n 's/^uid_base=//p' "$1/$N/config"; }
uid_of() { awk '/^Uid:/ { print $2 }' "/proc/$1/status"; }
cg_of() { grep -o 'pcbox-[^/]*' "/proc/$1/cgroup" | sort -u; }
get() { curl -sS --fail --max-time 5 "http://$1/who.txt"; }
disjoint() { [ $(($1 - $2)) -ge 65536 ] || [ $(($2 - $1)) -ge 65536 ]; }

# spawn DIR LETTER: box web in DIR serving /www/who.txt = LETTER (B_PID).
spawn() {
	B_BOXES=$1 b_spawn web -- sh -c "mkdir -p /www && echo $2 > /www/who.txt && cd /www &&
		exec python3 -m http.server 80" || b_fail "spawn of web in $1"
}
# check DIR PID LETTER BASE: the app answers on its address, as BASE.
check() {
	local addr
	addr=$(B_BOXES=$1 b_addr web)
	b_wait "web of $1 at $addr" get "$addr"
	[ "$(get "$addr")" = "$3" ] || b_fail "web of $1 answers $(get "$addr"), not $3"
	[ "$(uid_of "$2")" = "$4" ] || b_fail "web of $1 runs as $(uid_of "$2"), not $4"
	[ "$(stat -c %u "$1/$N/upper/www/who.txt")" = "$4" ] ||
		b_fail "who.txt of $1 is owned by $(stat -c %u "$1/$N/upper/www/who.txt"), not $4"
}

spawn "$A" A
PA=$B_PID
spawn "$B" B
PB=$B_PID
BA=$(base_of "$A")
BB=$(base_of "$B")
disjoint "$BA" "$BB" || b_fail "the two dirs' boxes got overlapping ranges: $BA and $BB"
[ "$(cg_of "$PA")" != "$(cg_of "$PB")" ] || b_fail "both boxes are in cgroup $(cg_of "$PA")"
grep -qx "$A" "$REG" && grep -qx "$B" "$REG" || b_fail "the registry $REG lacks the box dirs"
check "$A" "$PA" A "$BA"
check "$B" "$PB" B "$BB"
b_log "two boxes web: ranges $BA and $BB, cgroups $(cg_of "$PA") and $(cg_of "$PB")"

err=$("$PICOCENTER" cr dump --pid "$PA" --dir "$B_DIR/wrong" --box-dir "$B" 2>&1) &&
	b_fail "a dump of A's app given B's box dir succeeded"
printf '%s' "$err" | grep -q "not in a box of $B" || b_fail "dump given the wrong box dir: $err"
[ -d "/proc/$PA" ] || b_fail "A's app died of a refused dump"

for c in 1 2; do
	B_BOXES=$A b_cycle web "$PA" "$B_DIR/img-a"
	PA=$B_PID
	B_BOXES=$B b_cycle web "$PB" "$B_DIR/img-b"
	PB=$B_PID
	check "$A" "$PA" A "$BA"
	check "$B" "$PB" B "$BB"
	b_log "cycle $c ok"
done

err=$("$PICOCENTER" cr spawn --name "x-$$" --box-dir "$B" --bridge "$B_BRIDGE" \
	--subnet "$B_SUBNET" --uid-pool "$BA:65536" -- true 2>&1 >/dev/null) &&
	b_fail "a box took ids of the other dir's box"
[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || b_fail "exhausted: not one line: $err"
printf '%s' "$err" | grep -q "uid range exhausted" || b_fail "exhausted: $err"
B_BOXES=$B b_leftovers "x-$$"
b_log "exhausted: $err"

# A's image into an empty dir C while A's box keeps its range.
"$PICOCENTER" cr dump --pid "$PA" --dir "$B_DIR/img-m" --box-dir "$A" || b_fail "dump of A's app"
b_wait "A's app gone" bash -c "! [ -d /proc/$PA ]"
PC=$("$PICOCENTER" cr restore --dir "$B_DIR/img-m" --box-dir "$C") ||
	b_fail "restore of A's image into an empty box dir"
B_PIDS+=("$PC")
BC=$(base_of "$C")
disjoint "$BC" "$BA" && disjoint "$BC" "$BB" ||
	b_fail "the box made again in C took a range in use: $BC (A $BA, B $BB)"
check "$C" "$PC" A "$BC"
[ "$(b_in "$PC" stat -c %u /www/who.txt)" = 0 ] || b_fail "who.txt is not root's in C's box"
b_log "A's image in C: range $BC"

for dir in "$A" "$B" "$C"; do
	"$PICOCENTER" box rm --box-dir "$dir" "$N" || b_fail "box rm $N in $dir"
done
for dir in "$A" "$B" "$C"; do   # (its cgroup check finds every dir's web)
	B_BOXES=$dir b_leftovers "$N"
done
grep "^$B_DIR/" "$REG" && b_fail "the registry keeps box dirs whose last box was removed"
b_log PASS

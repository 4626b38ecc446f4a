#!/bin/bash
# t-userns.sh - a box's user namespace: the box's root is uid 0 inside and
# the first uid of the box's range on the host (/proc/PID/status, the
# uid_map the app reads, the owner of what it writes in the upper layer);
# it owns its log (its stdout and stderr, which servers open again by
# path: php-fpm's /proc/self/fd/2), and a log with another link is
# refused; it cannot write the host's files it can reach (the box's /dev); /dev/ptmx opens, /sys reads and is read-only; it sees its own cgroup v2 at /sys/fs/cgroup (/sys/fs/cgroup/unified on a hybrid host) and may make cgroups
# under it (removed with the box); two boxes get disjoint ranges; an app as root and one as
# --user 1000 keep their ids through dump/restore, inside and on the host.
d=$(dirname "$0"); . "$d/lib.sh"
b_init userns

uid_of() { awk '/^Uid:/ { print $2 }' "/proc/$1/status"; }
base_of() { sed -n 's/^uid_base=//p' "$B_BOXES/$1-$$/config"; }

LOG=$B_DIR/root-$$.log
b_spawn root -- /bin/sh -c "id -u > /tmp/uid; cat /proc/self/uid_map > /tmp/map
	touch /tmp/made; echo x > /tmp/mine && chown 1000:1000 /tmp/mine
	(echo y >> $LOG) 2>/dev/null && echo yes > /tmp/logw || echo no > /tmp/logw
	(exec 3<>/dev/ptmx) 2>/dev/null && echo yes > /tmp/ptmx || echo no > /tmp/ptmx
	cat /sys/class/net/eth0/address > /tmp/sysr 2>/dev/null
	(echo 1 > /sys/class/net/eth0/mtu) 2>/dev/null && echo yes > /tmp/sysw || echo no > /tmp/sysw
	(touch /dev/x) 2>/dev/null && echo yes > /tmp/devw || echo no > /tmp/devw
	exec sleep 600" || b_fail "spawn of the root box failed"
PID=$B_PID
UP=$B_BOXES/root-$$/upper/tmp
b_wait "the app's checks" test -s "$UP/devw"
BASE=$(base_of root)
[ -n "$BASE" ] && [ "$BASE" -ge 65536 ] || b_fail "uid base '$BASE'"
[ "$(cat "$UP/uid")" = 0 ] || b_fail "id -u in the box: $(cat "$UP/uid")"
[ "$(echo $(cat "$UP/map"))" = "0 $BASE 65536" ] || b_fail "uid_map in the box: $(cat "$UP/map")"
[ "$(stat -c %u:%g "$UP/made")" = "$BASE:$BASE" ] || b_fail "a file of the box's root is $(stat -c %u:%g "$UP/made") on the host"
[ "$(stat -c %u "$UP/mine")" = $((BASE + 1000)) ] || b_fail "a file of uid 1000 is $(stat -c %u "$UP/mine") on the host"
[ "$(cat "$UP/logw")" = yes ] || b_fail "the box's root cannot write its own log by its path"
[ "$(stat -c %u "$LOG")" = "$BASE" ] || b_fail "the log is $(stat -c %u "$LOG")'s, not the box root's"
# a log that is another file's link too is never given to the box
echo keep > "$B_DIR/other-$$"
ln "$B_DIR/other-$$" "$B_DIR/linked-$$.log"
"$PICOCENTER" cr spawn --name linked-$$ --box-dir "$B_BOXES" --bridge "$B_BRIDGE" \
	--subnet "$B_SUBNET" --log "$B_DIR/linked-$$.log" \
	-- sleep 1 >/dev/null 2>"$B_DIR/linked.err" && b_fail "a box took a log with two links"
grep -q "one link" "$B_DIR/linked.err" || b_fail "linked log: $(cat "$B_DIR/linked.err")"
[ "$(stat -c %u "$B_DIR/other-$$")" = 0 ] || b_fail "the other link's file was given away"
b_leftovers linked-$$
[ "$(cat "$UP/devw")" = no ] || b_fail "the box's root created a file in the host-owned /dev"
[ "$(cat "$UP/ptmx")" = yes ] || b_fail "the box's root cannot open /dev/ptmx"
grep -Eq '^([0-9a-f]{2}:){5}[0-9a-f]{2}$' "$UP/sysr" || b_fail "the box cannot read its /sys"
[ "$(cat "$UP/sysw")" = no ] || b_fail "the box's root wrote its /sys"
[ "$(uid_of "$PID")" = "$BASE" ] || b_fail "host uid of the box's root: $(uid_of "$PID")"
CGV2=$(sed -n 's/^cg_unified=1://p' "$B_BOXES/root-$$/config")
[ -n "$CGV2" ] || b_fail "no cgroup v2 dir in the box's record"
[ "$(stat -c %u "$CGV2")" = "$BASE" ] || b_fail "the box's v2 cgroup is not its root's"
V2=/sys/fs/cgroup   # on a hybrid host, as there: /sys/fs/cgroup/unified (box/cgview.c)
b_in "$PID" test -d $V2/unified && V2=$V2/unified
b_in "$PID" grep -qx 1 $V2/cgroup.procs || b_fail "the box does not see its own cgroup"
b_in "$PID" mkdir $V2/sub || b_fail "the box's root cannot make a cgroup under its own"

b_spawn user --user 1000:1000 -- sleep 600 || b_fail "spawn of the --user box failed"
UPID=$B_PID
UBASE=$(base_of user)
[ $((UBASE - BASE)) -ge 65536 ] || [ $((BASE - UBASE)) -ge 65536 ] ||
	b_fail "the boxes' ranges overlap: $BASE and $UBASE"
[ "$(uid_of "$UPID")" = $((UBASE + 1000)) ] || b_fail "host uid of --user 1000: $(uid_of "$UPID")"

for c in 1 2; do
	b_cycle root "$PID" "$B_DIR/img"
	PID=$B_PID
	b_cycle user "$UPID" "$B_DIR/uimg"
	UPID=$B_PID
	[ "$(uid_of "$PID")" = "$BASE" ] || b_fail "host uid of the box's root after cycle $c: $(uid_of "$PID")"
	[ "$(uid_of "$UPID")" = $((UBASE + 1000)) ] || b_fail "host uid of --user after cycle $c"
	[ "$(b_in "$PID" awk '/^Uid:/ { print $2 $3 $4 $5 }' /proc/1/status)" = 0000 ] ||
		b_fail "the box's root is not uid 0 inside after cycle $c"
	[ "$(b_in "$UPID" awk '/^Uid:/ { print $2 }' /proc/1/status)" = 1000 ] ||
		b_fail "--user 1000 is not 1000 inside after cycle $c"
	[ "$(echo $(b_in "$PID" cat /proc/1/uid_map))" = "0 $BASE 65536" ] || b_fail "uid_map after cycle $c"
	grep -q '^CapEff:.0000000000000000' "/proc/$UPID/status" || b_fail "--user 1000 has capabilities after cycle $c"
	b_log "cycle $c ok"
done
for n in root user; do
	"$PICOCENTER" box rm --box-dir "$B_BOXES" "$n-$$" || b_fail "box rm $n"
	b_leftovers "$n-$$"
done
b_log PASS

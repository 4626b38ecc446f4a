#!/bin/bash
# t-asleep.sh - a box put to sleep between a dump and a restore (its
# network namespace, veth, cgroup and mounts gone; its record, writable
# layer and nftables elements kept: the address and port stay reserved) is
# made again by the restore with the same address and published port: lighttpd answers through both, with the
# files written into its upper layer before, over 3 cycles.  A box with
# processes refuses to sleep.
d=$(dirname "$0"); . "$d/lib.sh"
b_need lighttpd curl nsenter
b_init asleep
HP=$(b_port)
WWW=/srv/pc-www-$$
b_lighttpd_conf "$WWW"
b_spawn web --port "$HP:80" -- sh -c "mkdir -p $WWW && exec lighttpd -D -f $B_DIR/lighttpd.conf" ||
	b_fail "spawn in a box failed"
PID=$B_PID
N=web-$$
BOX=$B_BOXES/$N
ADDR=$(b_addr web)
VETH=$(b_veth "$ADDR")
get() { curl -sS --fail --max-time 5 "http://$1/$2"; }
b_in "$PID" sh -c "echo first > $WWW/f0.txt"
b_wait "lighttpd on 127.0.0.1:$HP" get "127.0.0.1:$HP" f0.txt
"$PICOCENTER" box sleep --box-dir "$B_BOXES" "$N" 2>/dev/null && b_fail "a box with processes went to sleep"
for c in 1 2 3; do
	b_in "$PID" sh -c "echo cycle $c > $WWW/f$c.txt"
	rm -rf "$B_DIR/img"
	"$PICOCENTER" cr dump --pid "$PID" --dir "$B_DIR/img" --box-dir "$B_BOXES" || b_fail "dump $c"
	"$PICOCENTER" box sleep --box-dir "$B_BOXES" "$N" || b_fail "box sleep $c"
	ip link show "$VETH" >/dev/null 2>&1 && b_fail "veth $VETH still there while asleep"
	grep -q " $BOX/" /proc/self/mountinfo && b_fail "mounts of the box left while asleep"
	nft list map ip picocenter dnat_any | grep -q " $HP : $ADDR " || b_fail "port $HP not kept for $ADDR while asleep"
	[ -n "$(find /sys/fs/cgroup -maxdepth 6 -type d -name "pcbox-????????-$N")" ] && b_fail "cgroup while asleep"
	[ -f "$BOX/upper$WWW/f$c.txt" ] || b_fail "the upper layer is gone while asleep"
	curl -s --max-time 1 "http://127.0.0.1:$HP/f0.txt" >/dev/null && b_fail "port $HP answers while asleep"
	PID=$("$PICOCENTER" cr restore --dir "$B_DIR/img" --box-dir "$B_BOXES") || b_fail "restore $c"
	B_PIDS+=("$PID")
	[ "$(b_addr web)" = "$ADDR" ] || b_fail "address changed: $(b_addr web), was $ADDR"
	b_in "$PID" ip -4 -o addr show eth0 | grep -q " $ADDR/" || b_fail "eth0 lacks $ADDR"
	for k in $(seq 0 "$c"); do
		w=$(cat "$BOX/upper$WWW/f$k.txt")
		[ "$(get "127.0.0.1:$HP" "f$k.txt")" = "$w" ] || b_fail "f$k.txt on 127.0.0.1:$HP after cycle $c"
		[ "$(get "$ADDR" "f$k.txt")" = "$w" ] || b_fail "f$k.txt on $ADDR after cycle $c"
	done
	[ "$(b_in "$PID" hostname)" = "$N" ] || b_fail "hostname after cycle $c"
	b_log "cycle $c: slept and woke with $ADDR (pid $PID)"
done
"$PICOCENTER" box rm --box-dir "$B_BOXES" "$N" || b_fail "box rm"
b_leftovers "$N"
b_log PASS

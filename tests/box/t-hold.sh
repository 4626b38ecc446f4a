#!/bin/bash
# t-hold.sh - the first-packet hold of an asleep box (box/hold.c): a boxed
# lighttpd is dumped and its box put to sleep (no namespace, no veth);
# `box hold` arms the hold, and a client connecting through the published
# port is held in the kernel, not refused nor dropped: its SYN is the one
# packet held (a retransmit would be a second), the hook wakes the box and
# restores lighttpd, the SYN goes on and the client gets its page.  Three
# cycles: from the host (127.0.0.1), from a peer network namespace of the
# test's own (forwarded through the host), and both at once.  The hold's
# chain and set are gone afterwards.
d=$(dirname "$0"); . "$d/lib.sh"
b_need lighttpd curl nsenter
b_init hold
HP=$(b_port)
WWW=/srv/pc-www-$$
PEER=pchp$$                      # the peer's netns; its veth pair:
PV=pchv$$                        # host end
PNET=100.64.$(($$ / 64 % 256)).$(($$ % 64 * 4))
PHOST=${PNET%.*}.$((${PNET##*.} + 1))
PADDR=${PNET%.*}.$((${PNET##*.} + 2))
cleanup_hold() {
	ip netns del "$PEER" 2>/dev/null
	ip link del "$PV" 2>/dev/null
	b_hold_cleanup "$B_DIR"/hold*.out
	b_cleanup
}
trap cleanup_hold EXIT
b_lighttpd_conf "$WWW"
b_spawn web --port "$HP:80" -- sh -c "mkdir -p $WWW && echo held > $WWW/a.txt && exec lighttpd -D -f $B_DIR/lighttpd.conf" ||
	b_fail "spawn in a box failed"
PID=$B_PID
N=web-$$
# a neighbour box keeps the bridge up (its neighbour entries are kept)
b_spawn other -- sleep 600 || b_fail "spawn of the neighbour box failed"
ADDR=$(b_addr web)

# the peer: another "machine" reaching the host's address on its link
ip netns add "$PEER" || b_fail "ip netns add"
ip link add "$PV" type veth peer name eth0 netns "$PEER" || b_fail "veth for the peer"
ip addr add "$PHOST/30" dev "$PV" && ip link set "$PV" up || b_fail "host end of the peer's veth"
echo 1 >"/proc/sys/net/ipv4/conf/$PV/forwarding" || b_fail "forwarding on $PV"
ip -n "$PEER" addr add "$PADDR/30" dev eth0 && ip -n "$PEER" link set eth0 up &&
	ip -n "$PEER" link set lo up && ip -n "$PEER" route add default via "$PHOST" ||
	b_fail "the peer's network"

get() { curl -sS --fail --max-time 10 -o "$2" -w '%{time_connect}\n' "http://$1:$HP/a.txt"; }
b_wait "lighttpd on 127.0.0.1:$HP" get 127.0.0.1 /dev/null
b_wait "lighttpd from the peer" ip netns exec "$PEER" curl -sS --fail --max-time 2 "http://$PHOST:$HP/a.txt"

# cycle C CLIENTS...: dump, sleep, hold; each client (local|peer) connects
# while asleep and must be held once, then answered.
cycle() {
	local c=$1 w pids=() k out
	shift
	rm -rf "$B_DIR/img"
	"$PICOCENTER" cr dump --pid "$PID" --dir "$B_DIR/img" --box-dir "$B_BOXES" || b_fail "dump $c"
	for _ in $(seq 100); do [ -d "/proc/$PID" ] || break; sleep 0.02; done
	"$PICOCENTER" box sleep --box-dir "$B_BOXES" "$N" || b_fail "box sleep $c"
	ip link show "$(b_veth "$ADDR")" >/dev/null 2>&1 && b_fail "veth still there while asleep"
	# the hook: wait until every client's SYN is held, then restore
	b_hold_start "$N" "$B_DIR/img" ip $# "$B_DIR/hold$c.out" "$B_DIR/pid$c"
	hold=$B_HOLD
	for k in "$@"; do
		if [ "$k" = local ]; then
			get 127.0.0.1 "$B_DIR/$k$c.page" >"$B_DIR/$k$c.time" 2>"$B_DIR/$k$c.err" &
		else
			ip netns exec "$PEER" curl -sS --fail --max-time 10 -o "$B_DIR/$k$c.page" \
				-w '%{time_connect}\n' "http://$PHOST:$HP/a.txt" >"$B_DIR/$k$c.time" 2>"$B_DIR/$k$c.err" &
		fi
		pids+=($!)
	done
	for k in "${!pids[@]}"; do
		wait "${pids[$k]}" || b_fail "cycle $c: client ${*:$((k + 1)):1} failed: $(cat "$B_DIR/${*:$((k + 1)):1}$c.err")"
	done
	wait "$hold" || b_fail "cycle $c: box hold failed: $(cat "$B_DIR/hold$c.out.log")"
	PID=$(cat "$B_DIR/pid$c")
	B_PIDS+=("$PID")
	out=$(awk '$1 == "held" { print $2 }' "$B_DIR/hold$c.out")
	[ "$out" = $# ] || b_fail "cycle $c: $out packets held for $# clients (a SYN was retransmitted)"
	for k in "$@"; do
		[ "$(cat "$B_DIR/$k$c.page")" = held ] || b_fail "cycle $c: $k got: $(cat "$B_DIR/$k$c.page")"
	done
	b_log "cycle $c ($*): held $out, answered; connect s: $(cat "$B_DIR"/*"$c".time | tr '\n' ' ')"
	q=$(awk '$1 == "armed" { print $2 }' "$B_DIR/hold$c.out")
	nft list chain ip picocenter_hold "hold_$q" >/dev/null 2>&1 && b_fail "cycle $c: chain hold_$q left"
	return 0
}
cycle 1 local
cycle 2 peer
cycle 3 local peer
"$PICOCENTER" box rm --box-dir "$B_BOXES" "$N" || b_fail "box rm"
b_leftovers "$N"
b_log PASS

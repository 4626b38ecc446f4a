#!/bin/bash
# t-half-made.sh - boxes that fail or die half-way leave nothing behind
# once failed or removed (`box rm`): no box dir, cgroup, veth, netns mount,
# nftables element of either family, mount.
#  - a link of the bridge's name that is not a bridge (a veth): refused after the
#    namespaces are made, and no address is added to that link;
#  - a published port on an IPv6 host address that another box has:
#    refused by the nftables transaction, the last step (namespaces,
#    veth, root, cgroups made);
#  - `cr spawn` killed while it waits for the nftables lock (all else
#    made): `box rm` removes the rest.  The test holds that machine-wide
#    lock for as long as the box takes to be made (other boxes' creation
#    and removal wait meanwhile).
d=$(dirname "$0"); . "$d/lib.sh"
b_need flock
b_init half-made
DUMMY=bnd$$
cleanup_half() {
	exec 9>&-           # the nftables lock, if a failure left it held
	ip link del "$DUMMY" 2>/dev/null
	b_cleanup
}
trap cleanup_half EXIT

# not a bridge
ip link add "$DUMMY" type veth peer name "bndp$$" || b_fail "ip link add $DUMMY"
err=$("$PICOCENTER" cr spawn --name "nb-$$" --box-dir "$B_BOXES" --bridge "$DUMMY" \
	--subnet "$B_SUBNET" -- true 2>&1 >/dev/null) && b_fail "a box on a veth as bridge was made"
printf '%s' "$err" | grep -q "not a bridge" || b_fail "not a bridge: '$err'"
[ -z "$(ip -o addr show dev "$DUMMY")" ] || b_fail "an address was left on $DUMMY: $(ip -o addr show dev "$DUMMY")"
b_leftovers "nb-$$"
b_log "a veth as bridge: $err"

# an IPv6 host port another box has
P=$(b_port)
b_spawn keep -- sleep 600 || b_fail "spawn of the first box failed"
BR6=$(ip -6 -o addr show dev "$B_BRIDGE" scope global | awk '{ print $4 }' | cut -d/ -f1)
[ -n "$BR6" ] || b_fail "no IPv6 address on $B_BRIDGE"
b_spawn pub --port "[$BR6]:$P:80" -- sleep 600 || b_fail "spawn with [$BR6]:$P:80 failed"
err=$("$PICOCENTER" cr spawn --name "dup-$$" --box-dir "$B_BOXES" --bridge "$B_BRIDGE" \
	--subnet "$B_SUBNET" --port "[$BR6]:$P:81" -- true 2>&1 >/dev/null) &&
	b_fail "a second box got [$BR6]:$P"
printf '%s' "$err" | grep -q "taken by another box" || b_fail "IPv6 port taken: '$err'"
b_leftovers "dup-$$"
nft list map ip6 picocenter dnat_addr | grep -q "$BR6 . tcp . $P : " || b_fail "the first box lost its IPv6 port"
b_log "an IPv6 port taken: $err"

# killed while waiting for the nftables lock, which a process of ours
# holds (never this shell: a failure's cleanup, box rm, would then wait
# for it for ever, and with it every box on the machine)
(exec 9>/run/picocenter/nft.lock && flock 9 && exec sleep 600) >/dev/null 2>&1 &
locker=$!
B_PIDS+=("$locker")
locked() { ! flock -n /run/picocenter/nft.lock true; }
b_wait "our process to take the nftables lock" locked
"$PICOCENTER" cr spawn --name "kill-$$" --box-dir "$B_BOXES" --bridge "$B_BRIDGE" \
	--subnet "$B_SUBNET" --port "$(b_port):80" -- true >/dev/null 2>&1 &
sp=$!
B_PIDS+=("$sp")
made() { [ -e "$B_BOXES/kill-$$/ns/net" ] && grep -q "$B_BOXES/kill-$$/root " /proc/self/mountinfo &&
	[ -n "$(find /sys/fs/cgroup -maxdepth 6 -type d -name "pcbox-????????-kill-$$" 2>/dev/null | head -1)" ]; }
b_wait "the box to be made up to its rules" made
kill -KILL "$sp"
wait "$sp" 2>/dev/null
kill -KILL "$locker"
wait "$locker" 2>/dev/null
"$PICOCENTER" box ls --box-dir "$B_BOXES" | grep -q "^kill-$$ " || b_fail "the half-made box is not listed"
"$PICOCENTER" box rm --box-dir "$B_BOXES" "kill-$$" || b_fail "box rm of the half-made box"
b_leftovers "kill-$$"
b_log "killed half-way, then removed: nothing left"

"$PICOCENTER" box rm --box-dir "$B_BOXES" "keep-$$" "pub-$$" || b_fail "box rm"
b_leftovers "keep-$$"
b_leftovers "pub-$$"
b_log PASS

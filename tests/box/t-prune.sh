#!/bin/bash
# t-prune.sh - nftables elements whose box is gone are removed, and only
# those.  Boxes on the test's subnet: `lost` (a published port; its record
# then removed, as a `cr spawn` killed half-way or a removed box dir
# leaves it), `nap` (asleep: elements, no veth) in the test's box dir, and
# in a second box dir `other` (awake) and `other-nap` (asleep).  `box rm`
# of `lost` (no record: its address is unknown) removes its elements of
# both families, its published port too, and nothing of the others.  Then
# elements added by hand for an address of the test's subnet that no box
# has (the trace of a box dir removed whole) and for one outside it:
# `box prune` removes the first (printing its address), keeps the second
# and every box's; a second prune removes nothing.
d=$(dirname "$0"); . "$d/lib.sh"
b_need nft
b_init prune
OUT=198.18.$((RANDOM % 256)).$((RANDOM % 250 + 2))   # outside every box subnet
ORPHAN=$B_NET.250
HP=$(b_port)
HP2=$(b_port)
# v6of A.B.C.D: the IPv6 address of the box of that IPv4 address (addr6.c)
v6of() {
	local IFS=.
	set -- $1
	printf '%s:%x:%x' "$B_NET6" $(($1 * 256 + $2)) $(($3 * 256 + $4))
}
drop_manual() {
	nft delete element ip picocenter boxes "{ $OUT }" 2>/dev/null
	nft delete element ip picocenter boxes "{ $ORPHAN }" 2>/dev/null
	nft delete element ip picocenter dnat_any "{ tcp . $HP2 }" 2>/dev/null
	nft delete element ip6 picocenter boxes "{ $(v6of "$ORPHAN") }" 2>/dev/null
	b_cleanup
}
trap drop_manual EXIT

B2=$B_DIR/boxes-2
# spawn2 NAME CMD...: a box of the second dir; its pid in B_PIDS.
spawn2() {
	local n=$1
	shift
	B_PIDS+=("$("$PICOCENTER" cr spawn --name "$n-$$" --box-dir "$B2" --bridge "$B_BRIDGE" \
		--subnet "$B_SUBNET" -- "$@")") && [ -n "${B_PIDS[-1]}" ]
}
# nap DIR NAME: put the box to sleep once its command (true) is gone.
nap() {
	local i
	for i in $(seq 100); do
		"$PICOCENTER" box sleep --box-dir "$1" "$2-$$" 2>/dev/null && return 0
		sleep 0.02
	done
	b_fail "box $2 not asleep"
}
b_spawn lost --port "$HP:80" -- sleep 1000 || b_fail "spawn lost"
LOST=$(b_addr lost)
b_spawn nap --port "127.0.0.1:$(b_port):80" -- true || b_fail "spawn nap"
spawn2 other sleep 1000 || b_fail "spawn other"
spawn2 other-nap true || b_fail "spawn other-nap"
nap "$B_BOXES" nap
nap "$B2" other-nap
# every address but lost's, as `box ls` of both dirs says
keep=$( { "$PICOCENTER" box ls --box-dir "$B_BOXES"; "$PICOCENTER" box ls --box-dir "$B2"; } |
	awk -v l="lost-$$" '$1 != l { print $2 }')
[ "$(echo "$keep" | wc -w)" = 3 ] || b_fail "want 3 other boxes, got: $keep"

elements() { nft list table "$1" picocenter | grep -c -F "$2"; }
has_all() {
	local a
	for a in $keep; do
		[ "$(elements ip "$a")" -ge 1 ] || b_fail "$1: the elements of box $a are gone"
		[ "$(elements ip6 "$(v6of "$a")")" -ge 1 ] ||
			b_fail "$1: the IPv6 elements of box $a are gone"
	done
}
[ "$(elements ip "$LOST")" -ge 2 ] || b_fail "lost has no elements to lose"
nft list map ip picocenter dnat_any | grep -q "tcp . $HP : $LOST . 80" || b_fail "no DNAT of $HP"

# The record goes; box rm finds the rest by name, the elements by sweep.
rm "$B_BOXES/lost-$$/config"
"$PICOCENTER" box rm --box-dir "$B_BOXES" "lost-$$" || b_fail "box rm of a box without record"
b_leftovers "lost-$$"
nft list map ip picocenter dnat_any | grep -q "tcp . $HP :" && b_fail "DNAT of port $HP left"
has_all "after box rm"

nft add element ip picocenter boxes "{ $OUT, $ORPHAN }" || b_fail "add elements by hand"
nft add element ip picocenter dnat_any "{ tcp . $HP2 : $ORPHAN . 80 }" || b_fail "add a DNAT by hand"
nft add element ip6 picocenter boxes "{ $(v6of "$ORPHAN") }" ||
	b_fail "add an IPv6 element by hand"
got=$("$PICOCENTER" box prune --box-dir "$B_BOXES") || b_fail "box prune"
[ "$got" = "$ORPHAN" ] || b_fail "box prune removed '$got', want $ORPHAN"
[ "$(elements ip "$ORPHAN")" = 0 ] || b_fail "elements of $ORPHAN left"
[ "$(elements ip6 "$(v6of "$ORPHAN")")" = 0 ] ||
	b_fail "the IPv6 element of $ORPHAN left"
[ "$(elements ip "$OUT")" = 1 ] || b_fail "$OUT (outside the box dir's subnets) was removed"
has_all "after box prune"
got=$("$PICOCENTER" box prune --box-dir "$B2") || b_fail "second box prune"
[ -z "$got" ] || b_fail "a second prune removed '$got'"
has_all "after the second prune"
nft delete element ip picocenter boxes "{ $OUT }"
"$PICOCENTER" box rm --box-dir "$B2" "other-$$" "other-nap-$$" || b_fail "box rm in $B2"
b_done "nap-$$"

#!/bin/bash
# t-nft-version.sh - a box's nftables transaction adds only its elements
# when picocenter's table is this build's version (the set `rules` holds
# it), and makes the table again when it is not: the version comes back,
# and no rule is ever added twice (the host-forwarding drop rule of
# forward.c once, the input chain's rules once), with boxes made by both
# transactions.
d=$(dirname "$0"); . "$d/lib.sh"
b_init nft-version

fwd_drops() { nft list chain ip picocenter forward | grep -c 'ip saddr != @boxes ip daddr != @boxes drop'; }
input_drops() { nft list chain ip picocenter input | grep -c 'ip saddr @boxes drop'; }
version() { nft list set ip picocenter rules 2>/dev/null | awk -F'[{}]' '/elements/ { gsub(/ /, "", $2); print $2 }'; }

b_spawn v1 -- sleep 600 || b_fail "spawn of the first box failed"
v=$(version)
[ -n "$v" ] || b_fail "no version in the set rules after a box was made"
want_fwd=0
[ -e /run/picocenter/forwarding-ipv4 ] && want_fwd=1
# another build's table (or none): its version gone, the next box remakes it
nft flush set ip picocenter rules || b_fail "nft flush set rules"
b_spawn v2 -- sleep 600 || b_fail "spawn after the version was removed failed"
[ "$(version)" = "$v" ] || b_fail "version after the table was made again: '$(version)', want '$v'"
b_spawn v3 -- sleep 600 || b_fail "spawn with the table of this version failed"
b_spawn v4 -- sleep 600 || b_fail "spawn with the table of this version failed"
[ "$(version)" = "$v" ] || b_fail "version changed by boxes of the same build: '$(version)'"
[ "$(fwd_drops)" -eq "$want_fwd" ] || b_fail "forwarding drop rule $(fwd_drops) times, want $want_fwd"
[ "$(input_drops)" -eq 1 ] || b_fail "input drop rule $(input_drops) times, want 1"
for n in v1 v2 v3 v4; do
	nft list set ip picocenter boxes | grep -qw -- "$(b_addr "$n")" || b_fail "box $n's address is not in the set boxes"
done
"$PICOCENTER" box rm --box-dir "$B_BOXES" "v1-$$" "v2-$$" "v3-$$" "v4-$$" || b_fail "box rm"
b_log PASS

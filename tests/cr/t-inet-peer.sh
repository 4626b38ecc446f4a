#!/bin/bash
# t-inet-peer.sh - progs/tcpclient.c: TCP connections (v4, v6) to a peer
# outside the tree (inet_peer.py), idle across 3 cycles with the peer's
# greeting unread, then data both ways: nothing lost, no reset.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inet_lib.sh"
port=$(inet_port)
plog=$(mktemp /tmp/picocenter-peer.XXXXXX)
python3 "$(dirname "$0")/inet_peer.py" "$port" "$plog" &
peer=$!
trap 'kill $peer 2>/dev/null; rm -f "$plog"; cr_cleanup' EXIT
for i in $(seq 100); do grep -q READY "$plog" && break; sleep 0.05; done
grep -q READY "$plog" || { echo "peer did not start"; exit 1; }
cr_start inet-peer tcpclient "$port"
trap 'kill $peer 2>/dev/null; rm -f "$plog"; cr_cleanup' EXIT
# The window probe a restored connection sends is acknowledged by the
# peer up to ~200 ms later (delayed ACK); an ACK landing while the app is
# down gets a RST (there is no network lock), so the app runs a little
# between cycles, as a real app does.
CR_SETTLE=0.3
cr_cycles 3
cr_cycle 4
cat "$plog" | sed 's/^/peer: /' | grep -v ECHOED
if grep -q ERROR "$plog"; then cr_fail "the peer saw an error"; fi
[ "$(grep -c '^ACCEPT' "$plog")" = 2 ] || cr_fail "the peer did not see exactly 2 connections"
n=$(grep -c "^ECHOED 131072 " "$plog")
[ "$n" = 2 ] || cr_fail "the peer echoed 2 x 64 KiB on $n connections, want 2"
cr_finish

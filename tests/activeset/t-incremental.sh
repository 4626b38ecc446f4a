#!/bin/bash
# t-incremental.sh - swap-out of a lazily restored tree reads and writes
# only what changed.  The working-set program holds a 256 MB heap; after a
# restore from the store it writes 1% of it (655 pages).  The next dump
# reads nothing from the store (the page server's counters do not move),
# puts about that 1% into the image (its files) and uploads about as much;
# a second dump of the same tree, which went on running, builds on the
# first.  The image then restores with every page right.
. "$(dirname "$0")/lib.sh"
T=65536 W=256 N=655
STORE=file://$A_W/store
PORT=$(a_port)
changed=$((N * 4096))

# dump_counted ARGS...: dump with the counters on; sets NEW and LOGICAL.
dump_counted() {
	local out
	out=$(PICOCENTER_TIMING=1 "$PICOCENTER" cr dump --pid "$A_PID" --store "$STORE" \
		--image big "$@" 2>&1) || a_fail "dump: $out"
	NEW=$(sed -n 's/.*dump counters:.* bytes_new \([0-9]*\).*/\1/p' <<<"$out")
	LOGICAL=$(sed -n 's/.*dump counters:.* logical_bytes \([0-9]*\).*/\1/p' <<<"$out")
	[ -n "$NEW" ] && [ -n "$LOGICAL" ] || a_fail "no dump counters: $out"
}

a_spawn "$PORT" "$T"
dump_counted
a_log "full dump: $LOGICAL bytes, $NEW uploaded"
[ "$LOGICAL" -gt $((T * 4096)) ] || a_fail "the first dump is not a full one"
a_restore "$STORE" big
a_ask "$PORT" 0 "$W" 0
"$WS" write "$PORT" 30000 "$N" 5 || a_fail "write"
before=$(a_stat bytes_store)
t0=$(date +%s%N)
dump_counted --leave-running
ms=$((($(date +%s%N) - t0) / 1000000))
after=$(a_stat bytes_store)
a_log "1% changed: dump in $ms ms, $LOGICAL bytes in the image dir, $NEW uploaded; store reads $before -> $after"
[ "$after" = "$before" ] || a_fail "the dump read $((after - before)) bytes from the store"
[ "$LOGICAL" -le $((changed * 3 / 2 + (1 << 20))) ] || a_fail "$LOGICAL bytes dumped for $changed changed"
[ "$NEW" -le $((changed * 3 / 2 + (1 << 20))) ] || a_fail "$NEW bytes uploaded for $changed changed"

# The tree went on: another small change, another incremental dump.
a_ask "$PORT" 30000 "$N" 5
"$WS" write "$PORT" 50000 100 6 || a_fail "write 2"
dump_counted
a_log "second dump: $LOGICAL bytes, $NEW uploaded"
[ "$LOGICAL" -le $((changed * 3 / 2 + (1 << 20))) ] || a_fail "second dump: $LOGICAL bytes"

a_restore "$STORE" big
a_ask "$PORT" 0 30000 0
a_ask "$PORT" 30000 "$N" 5
a_ask "$PORT" $((30000 + N)) $((50000 - 30000 - N)) 0
a_ask "$PORT" 50000 100 6
a_ask "$PORT" 50100 $((T - 50100)) 0
a_log "ok: every page right"

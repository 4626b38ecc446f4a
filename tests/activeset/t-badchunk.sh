#!/bin/bash
# t-badchunk.sh - never wrong memory: a chunk of a lazily restored image
# that fails its hash check when a fault needs it is an error, never a
# zero page.  The store's chunks are damaged after the restore; a request
# touching pages not fetched yet gets no answer, the tree is killed and
# the page server's log names the chunk.
. "$(dirname "$0")/lib.sh"
T=4096 W=64
STORE=file://$A_W/store
PORT=$(a_port)

a_spawn "$PORT" "$T"
a_dump "$STORE" ws
a_restore "$STORE" ws --log "$A_W/ps.log"
a_ask "$PORT" 0 "$W" 0
# Damage every chunk: one byte in the middle of each object.
n=0
while read -r f; do
	size=$(stat -c %s "$f")
	printf '\x55' | dd of="$f" bs=1 seek=$((size / 2)) conv=notrunc status=none
	n=$((n + 1))
done < <(find "$A_W/store/chunks" -type f)
a_log "damaged $n chunks"
WSPROG_TIMEOUT=3 "$WS" ask "$PORT" 3000 "$W" 0 2>/dev/null && a_fail "answered from a damaged chunk"
for _ in $(seq 50); do kill -0 "$A_PID" 2>/dev/null || break; sleep 0.1; done
grep -q "^State:.*[RSD]" "/proc/$A_PID/status" 2>/dev/null && a_fail "tree still running"
grep -q "killed.*chunk [0-9a-f]* corrupt\|killed.*chunk.*hash\|killed.*decode" "$A_W/ps.log" ||
	a_fail "no reason logged: $(cat "$A_W/ps.log" 2>/dev/null)"
a_log "ok: $(tail -n 1 "$A_W/ps.log")"

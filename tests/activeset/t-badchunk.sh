#!/bin/bash
# t-badchunk.sh - never wrong memory: a page of a lazily restored image
# that fails its hash check when a fault needs it is an error, never a
# zero page.  The store's packs (where the pages are) and chunks are
# damaged after the restore, one byte in every 64 (every page's encoding
# is longer); a request touching pages not fetched yet gets no answer,
# the tree is killed and the page server's log names the page.
. "$(dirname "$0")/lib.sh"
T=4096 W=64
STORE=file://$A_W/store
PORT=$(a_port)

a_spawn "$PORT" "$T"
a_dump "$STORE" ws
a_restore "$STORE" ws --log "$A_W/ps.log"
a_ask "$PORT" 0 "$W" 0
n=$(python3 -c '
import os, sys
n = 0
for d in ("chunks", "packs"):
    for top, _, names in os.walk(os.path.join(sys.argv[1], d)):
        for name in names:
            with open(os.path.join(top, name), "r+b") as f:
                b = bytearray(f.read())
                for i in range(32, len(b), 64):
                    b[i] ^= 0x55
                f.seek(0)
                f.write(b)
            n += 1
print(n)' "$A_W/store") || a_fail "damage the store"
a_log "damaged $n objects"
WSPROG_TIMEOUT=3 "$WS" ask "$PORT" 3000 "$W" 0 2>/dev/null && a_fail "answered from a damaged page"
for _ in $(seq 50); do kill -0 "$A_PID" 2>/dev/null || break; sleep 0.1; done
grep -q "^State:.*[RSD]" "/proc/$A_PID/status" 2>/dev/null && a_fail "tree still running"
grep -q "killed.*page [0-9]* of file pages ([0-9a-f]*, in packs/[0-9a-f/]*) corrupt" "$A_W/ps.log" ||
	a_fail "no reason logged: $(cat "$A_W/ps.log" 2>/dev/null)"
a_log "ok: $(tail -n 1 "$A_W/ps.log")"

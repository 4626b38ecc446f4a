#!/bin/bash
# t-duemap.sh - a restore reads the map of its pages due first, not the
# page index (docs/store.md, "The map of the pages due first").  The
# working-set program (64 MB, a window of 256 pages) is dumped, revived
# once to learn its ActiveSet and dumped again: that generation has the
# map (pages.due).  With the page index's chunks gone from the store, a
# restore without a local copy still answers the window right (the map
# and the runs were enough), and a request outside it fails: the tree is
# stopped, never left running with memory it could not check.  With the
# chunks back, the same request is answered right.
. "$(dirname "$0")/lib.sh"
T=16384 W=256
STORE=file://$A_W/store
PORT=$(a_port)
HELD=$A_W/held
mkdir -p "$HELD"

a_spawn "$PORT" "$T"
a_ask "$PORT" 0 "$W" 0
a_dump "$STORE" ws
a_restore "$STORE" ws
a_ask "$PORT" 0 "$W" 0
a_dump "$STORE" ws
man=$A_W/store/images/ws/$(ls "$A_W/store/images/ws" | tail -n 1)
grep -q '^file pages.due ' "$man" || a_fail "no map of the pages due first in $man"
# The page index: the c lines of the paged file (after its p lines).
idx=$(awk '/^paged pages /{p = 1; next} p && /^p /{next} p && /^c /{print $2; next} {p = 0}' "$man")
[ -n "$idx" ] || a_fail "no page index chunks in $man"
for h in $idx; do
	mv "$A_W/store/chunks/${h:0:2}/$h" "$HELD/" || a_fail "move index chunk $h"
done
a_log "$(wc -w <<<"$idx") chunks of the page index moved away"

a_restore "$STORE" ws --store-timeout 1000 --log "$A_W/ps.log"
a_ask "$PORT" 0 "$W" 0
a_log "the window answered without the page index"
if WSPROG_TIMEOUT=3 "$WS" ask "$PORT" $((T / 2)) 16 0 2>/dev/null; then
	a_fail "pages outside the runs answered without the page index"
fi
for _ in $(seq 100); do
	kill -0 "$A_PID" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$A_PID/status" || break
	sleep 0.1
done
kill -0 "$A_PID" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$A_PID/status" &&
	a_fail "tree $A_PID still running without its page index"
grep -q "page index" "$A_W/ps.log" || a_fail "no reason logged: $(cat "$A_W/ps.log")"
a_log "outside the window: $(tail -n 1 "$A_W/ps.log")"

for h in $idx; do mv "$HELD/$h" "$A_W/store/chunks/${h:0:2}/" || a_fail "put back $h"; done
a_restore "$STORE" ws
a_ask "$PORT" $((T / 2)) 16 0
a_ask "$PORT" 0 "$W" 0
a_log "ok"

#!/bin/bash
# t-layout.sh - a full dump lays the ActiveSet out first.  The working-set
# program reads 256 pages spread over its whole 128 MB heap (one in 128):
# with the pages in address order each one is a fault of its own, and a
# fault brings the 15 pages after it along, read from the store with it
# (16 MB).  After a learning revival and a full dump (--full), the set
# sits together at the start of the pages: the next revival reads it in a
# few ranged reads before resuming, about 1 MB, with every answer right.
. "$(dirname "$0")/lib.sh"
T=32768 N=256 STEP=128
STORE=file://$A_W/store
PORT=$(a_port)
stride() { "$WS" stride "$PORT" 0 "$N" "$STEP" 0 || a_fail "wrong answer (strided)"; }

a_spawn "$PORT" "$T"
a_dump "$STORE" ws
a_restore "$STORE" ws
stride
spread=$(a_stat bytes_store)
a_log "learning revival, pages in address order: $spread bytes read"
"$PICOCENTER" cr dump --pid "$A_PID" --store "$STORE" --image ws --full || a_fail "full dump"
a_restore "$STORE" ws
stride
laid=$(a_stat bytes_store)
faults=$(a_stat faults_after_resume)
a_log "after the full dump, ActiveSet first: $laid bytes read, $faults faults"
[ "$spread" -gt $((8 << 20)) ] || a_fail "the spread set read only $spread bytes: test too weak"
[ "$laid" -lt $((4 << 20)) ] || a_fail "$laid bytes read with the ActiveSet laid out first"
[ "$faults" -le $((N / 10)) ] || a_fail "$faults faults"
a_ask "$PORT" 0 "$T" 0
a_log "ok"

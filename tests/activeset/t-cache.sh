#!/bin/bash
# t-cache.sh - a lazy restore from the store reads through the local chunk
# cache: an app dumped with --cache and revived on the same machine reads
# its pages from the cache, not the store (the counters say which), and an
# empty cache makes the same restore read them from the store.
. "$(dirname "$0")/lib.sh"
T=8192 W=256
STORE=file://$A_W/store
CACHE=$A_W/cache
PORT=$(a_port)
C=(--cache "$CACHE" --cache-size $((1 << 30)))

a_spawn "$PORT" "$T"
"$PICOCENTER" cr dump --pid "$A_PID" --store "$STORE" --image ws "${C[@]}" || a_fail "dump"
a_restore "$STORE" ws "${C[@]}"
a_ask "$PORT" 0 "$W" 0
st=$(a_stat bytes_store) ca=$(a_stat bytes_cache)
a_log "warm cache: $st bytes from the store, $ca from the cache"
[ "$st" = 0 ] && [ "$ca" -gt $((W * 4096 / 2)) ] || a_fail "not read from the cache"
kill -KILL "$A_PID"
rm -rf "$CACHE"
a_restore "$STORE" ws "${C[@]}"
a_ask "$PORT" 0 "$W" 0
st=$(a_stat bytes_store) ca=$(a_stat bytes_cache)
a_log "empty cache: $st bytes from the store, $ca from the cache"
[ "$st" -gt $((W * 4096 / 2)) ] && [ "$ca" = 0 ] || a_fail "not read from the store"
a_log "ok"

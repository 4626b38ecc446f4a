#!/bin/bash
# t-keeper-memory.sh - a revived tree's working set is held once: the
# keeper fetches the ActiveSet (16 MB here) to install it, then, once the
# tree is quiet for a second, gives back the memory of every chunk no
# process still needs; pages needed later are fetched again, and right.
. "$(dirname "$0")/lib.sh"
T=65536 W=4096
STORE=file://$A_W/store
PORT=$(a_port)
keeper_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$(awk '/^PPid:/ { print $2 }' "/proc/$A_PID/status")/status"; }

a_spawn "$PORT" "$T"
a_dump "$STORE" ws
a_restore "$STORE" ws
a_ask "$PORT" 0 "$W" 0
a_dump "$STORE" ws
a_restore "$STORE" ws
a_ask "$PORT" 0 "$W" 0
before=$(keeper_kb)
for _ in $(seq 50); do
	sleep 0.2
	after=$(keeper_kb)
	[ $((before - after)) -ge $((W * 4 * 3 / 4)) ] && break
done
a_log "keeper resident: $before kB after the restore, $after kB once the tree was quiet"
[ $((before - after)) -ge $((W * 4 * 3 / 4)) ] || a_fail "the keeper kept the working set"
a_ask "$PORT" 0 "$W" 0
a_ask "$PORT" 10000 1000 0
a_log "ok"

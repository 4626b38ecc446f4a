#!/bin/bash
# cr dump/restore through the store: --store URL --image NAME.
. "$(dirname "$0")/lib.sh"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; }
pid=$(pc cr spawn -- /bin/sleep 1000) || { echo "cr spawn does not work here"; exit 77; }
pids+=("$pid")
# Skip when the cr engine itself cannot dump here (not this suite's business).
pid2=$(pc cr spawn -- /bin/sleep 1000) && pids+=("$pid2")
pc cr dump --pid "$pid2" --dir "$T/plain" >/dev/null 2>&1 || { echo "cr dump does not work here"; exit 77; }

pc cr dump --pid "$pid" --store "$STORE" --image sleeper || fail "dump to the store"
pc store ls --store "$STORE" | grep -q '^sleeper ' || fail "image not in the store"
pc store fsck --store "$STORE" || fail fsck
[ -z "$(ls /var/tmp | grep picocenter-image)" ] || echo "note: scratch dirs in /var/tmp"
new=$(pc cr restore --store "$STORE" --image sleeper) || fail "restore from the store"
pids+=("$new")
sleep 0.2
kill -0 "$new" 2>/dev/null || fail "restored process $new is not running"
grep -q sleep "/proc/$new/cmdline" || fail "restored process is not the sleeper"
out=$(pc cr restore --store "$STORE" --image nosuch 2>&1) && fail "restore of a missing image worked"
grep -q 'no such image' <<<"$out" || fail "unclear: $out"
echo PASS

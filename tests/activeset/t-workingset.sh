#!/bin/bash
# t-workingset.sh - revive from the store fetching only the working set.
# The working-set program holds T = 32768 pages (128 MB) and each request
# reads a window of W = 256 pages.  After one learning revival (whose
# faults and writes the page server records), a restore from the store
# installs the ActiveSet before the tree resumes: the answers are right,
# few faults follow, the tree's resident memory stays near W pages (not
# T) and far fewer bytes than the image come from the store.  When the
# window moves, the set follows: the new pages after one revival, and the
# old ones once MEM_AS_HISTORY (2) revivals in a row did not use them.
. "$(dirname "$0")/lib.sh"
T=32768 W=256
STORE=file://$A_W/store
PORT=$(a_port)

a_spawn "$PORT" "$T"
a_ask "$PORT" 1000 "$W" 0
a_dump "$STORE" ws

# Revival 1 (learning): nothing is prefetched, the window faults in.
a_restore "$STORE" ws
[ "$(a_stat pages_prefetched)" = 0 ] || a_fail "prefetched without an ActiveSet"
a_ask "$PORT" 1000 "$W" 0
f1=$(a_stat faults)
a_log "learning revival: $f1 faults"
[ "$f1" -gt 0 ] || a_fail "no faults in the learning revival"
a_dump "$STORE" ws

# Revival 2: the ActiveSet is installed before resume.
a_restore "$STORE" ws
pre=$(a_stat pages_prefetched)
bytes=$(a_stat bytes_store)
a_ask "$PORT" 1000 "$W" 0
faults=$(a_stat faults_after_resume)
rss=$(a_stat rss_kb)
a_log "revival 2: prefetched $pre pages, $faults faults, rss $rss kB, $bytes bytes read"
[ "$pre" -ge $((W * 3 / 4)) ] || a_fail "only $pre pages prefetched (W = $W)"
[ "$faults" -le $((W / 10)) ] || a_fail "$faults faults after resume (W = $W)"
# W pages are 1 MiB; the image is 128 MiB.  Allow the program's own pages.
[ "$rss" -lt $((W * 4 * 3 + 2048)) ] || a_fail "resident $rss kB for a window of $((W * 4)) kB"
[ "$bytes" -lt $((8 << 20)) ] || a_fail "$bytes bytes read from the store"
a_ask "$PORT" 1000 "$W" 0

# The window moves: 20000..20255.
a_ask "$PORT" 20000 "$W" 0
a_dump "$STORE" ws
a_restore "$STORE" ws
a_ask "$PORT" 20000 "$W" 0
faults=$(a_stat faults_after_resume)
a_log "moved window, next revival: $faults faults"
[ "$faults" -le $((W / 10)) ] || a_fail "new window not in the ActiveSet ($faults faults)"
# Revivals 3 and 4 did not use the old window: revival 5 leaves it out.
for _ in 1 2; do
	a_dump "$STORE" ws
	a_restore "$STORE" ws
	a_ask "$PORT" 20000 "$W" 0
done
pre=$(a_stat pages_prefetched)
rss=$(a_stat rss_kb)
a_log "two unused revivals later: prefetched $pre, rss $rss kB"
[ "$pre" -le $((W * 3 / 2)) ] || a_fail "old window still prefetched ($pre pages)"
# Every page is still right (this brings the whole image in).
a_ask "$PORT" 0 "$T" 0
a_log "ok"

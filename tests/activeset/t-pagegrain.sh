#!/bin/bash
# t-pagegrain.sh - memory in the store at page grain: Python's
# http.server is dumped, restored, sent one request and dumped again.  The
# request changes a few hundred of its pages, scattered; the second dump
# uploads only those (packed together) plus the changed part of the page
# index and the small files: at most 1.5 times the compressed size of the
# changed pages (bytes counted, docs/store.md).  The image it leaves
# restores and answers.
. "$(dirname "$0")/lib.sh"
STORE=file://$A_W/store
PORT=$(a_port)
mkdir -p "$A_W/www"
echo "page-grain $$" >"$A_W/www/index.html"

get() { curl -sf --max-time 10 "http://127.0.0.1:$PORT/index.html"; }
answer() {
	local out
	out=$(get) || a_fail "no answer $1"
	[ "$out" = "page-grain $$" ] || a_fail "wrong answer $1: $out"
}
pack_bytes() { find "$A_W/store/packs" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}'; }

A_PID=$(cd "$A_W/www" && "$PICOCENTER" cr spawn --log "$A_W/log" -- \
	python3 -m http.server "$PORT" --bind 127.0.0.1) || a_fail "spawn"
A_PIDS+=("$A_PID")
for _ in $(seq 100); do get >/dev/null && break; sleep 0.1; done
answer "before the first dump"
a_dump "$STORE" py
full=$(pack_bytes)
a_restore "$STORE" py
answer "after the restore"
out=$(PICOCENTER_TIMING=1 "$PICOCENTER" cr dump --pid "$A_PID" --store "$STORE" --image py 2>&1) ||
	a_fail "second dump: $out"
new=$(sed -n 's/.*dump counters:.* bytes_new \([0-9]*\).*/\1/p' <<<"$out")
pages=$(sed -n 's/.*dump counters:.* pages_new \([0-9]*\).*/\1/p' <<<"$out")
packed=$(sed -n 's/.*dump counters:.* pack_bytes_new \([0-9]*\).*/\1/p' <<<"$out")
[ -n "$new" ] && [ -n "$pages" ] && [ -n "$packed" ] || a_fail "no dump counters: $out"
a_log "first dump: $full bytes of packs; second: $pages pages changed, $packed bytes" \
	"packed, $new bytes uploaded in all"
[ "$pages" -gt 0 ] && [ "$packed" -gt 0 ] || a_fail "the request changed nothing: test too weak"
[ $((packed * 4)) -lt "$full" ] || a_fail "$packed of $full bytes of pages stored again"
[ $((new * 2)) -le $((packed * 3)) ] ||
	a_fail "uploaded $new bytes for $packed bytes of changed pages (more than 1.5x)"
a_restore "$STORE" py
answer "after the second restore"
# Without the ActiveSet too (the pages due first are then not read early).
"$PICOCENTER" cr dump --pid "$A_PID" --store "$STORE" --image py || a_fail "third dump"
a_restore "$STORE" py --no-activeset
answer "after a restore without the ActiveSet"
a_log "ok"

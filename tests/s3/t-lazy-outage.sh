#!/bin/bash
# t-lazy-outage.sh - the store goes away while a lazily restored app runs
# with pages not fetched yet (radosgw killed).  A request touching such
# pages waits while the page server retries; radosgw comes back within the
# timeout and the answer is right.  Then radosgw goes away for longer than
# the timeout: the tree is killed (never left running with zeroed memory),
# the reason is in the page server's log, and the image, untouched,
# restores and answers right once radosgw is back.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/activeset/lib.sh"
trap 'a_cleanup; rm -rf "$WORK"; "$ROOT/scripts/s3-server.sh" start-rgw >/dev/null 2>&1' EXIT
T=8192 W=64
PORT=$(a_port)

a_spawn "$PORT" "$T"
a_dump "$URL" ws
a_restore "$URL" ws --log "$A_W/ps.log" --store-timeout 60000
a_ask "$PORT" 0 "$W" 0

# Outage shorter than the timeout: the request waits, then is answered.
"$ROOT/scripts/s3-server.sh" kill-rgw || fail "kill-rgw"
t0=$(ms)
WSPROG_TIMEOUT=90 "$WS" ask "$PORT" 4000 "$W" 0 >"$WORK/ask.out" 2>&1 &
ask=$!
sleep 2
kill -0 $ask 2>/dev/null || fail "answered while the store was down: $(cat "$WORK/ask.out")"
"$ROOT/scripts/s3-server.sh" start-rgw >/dev/null || fail "start-rgw"
wait $ask || fail "wrong or no answer after the store came back: $(cat "$WORK/ask.out")"
ok "request waited $(($(ms) - t0)) ms for the store and was answered right"
cr_alive_pid() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status"; }
cr_alive_pid "$A_PID" || fail "the tree died"

# Outage longer than the timeout: the tree is killed.
a_dump "$URL" ws
a_restore "$URL" ws --log "$A_W/ps.log" --store-timeout 2000
victim=$A_PID
"$ROOT/scripts/s3-server.sh" kill-rgw || fail "kill-rgw"
WSPROG_TIMEOUT=15 "$WS" ask "$PORT" 6000 "$W" 0 >"$WORK/ask2.out" 2>&1 &&
	fail "answered with the store gone: $(cat "$WORK/ask2.out")"
for _ in $(seq 100); do cr_alive_pid "$victim" || break; sleep 0.1; done
cr_alive_pid "$victim" && fail "tree $victim still running after the timeout"
grep -q "killed.*did not answer" "$A_W/ps.log" || fail "no reason logged: $(cat "$A_W/ps.log")"
ok "tree killed after the timeout: $(tail -n 1 "$A_W/ps.log")"

"$ROOT/scripts/s3-server.sh" start-rgw >/dev/null || fail "start-rgw"
a_restore "$URL" ws
a_ask "$PORT" 0 "$T" 0
ok "the image is intact: every page right after the outage"

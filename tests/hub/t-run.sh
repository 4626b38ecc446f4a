#!/bin/bash
# t-run.sh - workers run what the hub places on them (lib_run.sh: each
# worker in network, mount and cgroup namespaces of its own, one shared
# radosgw store).  Two apps, redis-server (kv) and python3 -m http.server
# (web, which writes a file into its own writable layer when it starts),
# placed on w1, resolved with dig through the hub and reached with
# redis-cli and curl at the answered address; then:
#   - `app move web --to w2` while it runs: it is swapped out on w1 and
#     revived on w2, the file it wrote included (not started again);
#     moving to a worker that does not exist, or another tenant's move,
#     fails with a clear error and the app stays as it was;
#   - logs of kv (asked of w1), swap-out and swap-in of web (asked of w2)
#     through the hub;
#   - kv swaps out (idle) and w1's machine dies (SIGKILL of everything it
#     ran); the next DNS query for kv answers w2's address at once and w2
#     revives kv from the store, its keys intact; a client that connects
#     while w2 fetches the image is held until kv runs (one try);
#   - tick (tests/serve/progs/timerapp: a timerfd due 12 s after it
#     starts) falls asleep on w2 with its timer armed before w2 dies
#     (below): the hub moves it to w3 at once, w3 takes it over asleep and
#     wakes it when its timer is due (nothing else reaches it), and the
#     timer fires then, not earlier and not much later;
#   - w3 joins and w2 dies while web runs there: web is restarted on w3
#     from its last image, and `app inspect` shows recovered with the
#     image's time.
. "$(dirname "$0")/lib.sh"
# 20 ms added to every store request: a revival takes long enough for a
# client to connect while it runs (the hold on a cold worker, below)
HR_DELAY_MS=20
. "$(dirname "$0")/lib_run.sh"
hr_init hub-run
h_start a --worker-timeout 1s
tok=$(h_tenant a alice)
bob=$(h_tenant a bob)
wtok=$("$PICOCENTER" hub worker-token --state-dir "$D_DIR/a") || h_fail "worker-token"
export PICOCENTER_HUB=unix:$D_DIR/a/api.sock
hub=$PICOCENTER_HUB

hr_worker w1 "$hub" "$wtok"
hr_wait_up w1 "$tok"

# web: its start writes a stamp into its writable layer (/srv), once.
web_cmd='mkdir -p /srv/www && date +%s%N >/srv/www/stamp && exec /usr/bin/python3 -m http.server 8000 --bind 0.0.0.0 --directory /srv/www'
h_expect 201 a "$tok" POST /apps "{\"name\":\"web\",\"argv\":[\"/bin/sh\",\"-c\",\"$web_cmd\"],\"publish\":[\"8000:8000\"],\"idle_ms\":600000}" >/dev/null
h_expect 201 a "$tok" POST /apps '{"name":"kv","argv":["/usr/bin/redis-server","--port","6379","--bind","0.0.0.0","--save","","--appendonly","no","--protected-mode","no"],"publish":["6379:6379"],"idle_ms":1500,"sleep_ms":0}' >/dev/null
# stuck: an unlinked file too big for an image keeps it from swapping out
stuck_cmd='truncate -s 300M /tmp/big && exec 3</tmp/big && rm /tmp/big && exec /usr/bin/python3 -m http.server 8001 --bind 0.0.0.0 --directory /etc'
h_expect 201 a "$tok" POST /apps "{\"name\":\"stuck\",\"argv\":[\"/bin/sh\",\"-c\",\"$stuck_cmd\"],\"publish\":[\"8001:8001\"],\"idle_ms\":600000}" >/dev/null
hr_wait_app "$tok" stuck "j['holder'] == 'w1' and j['state'] == 'running'"
hr_wait_app "$tok" web "j['holder'] == 'w1' and j['state'] == 'running'"
hr_wait_app "$tok" kv "j['holder'] == 'w1' and j['state'] in ('running', 'napping', 'asleep')"

# By name: dig through the hub, then the app's own client at that address.
w1=${HR_ADDR[w1]}
[ "$(h_dig a +short web.$H_ZONE A)" = "$w1" ] || h_fail "web does not resolve to w1"
[ "$(h_dig a +short kv.$H_ZONE A)" = "$w1" ] || h_fail "kv does not resolve to w1"
stamp=$(curl -sS --fail --max-time 5 "http://$(h_dig a +short web.$H_ZONE A):8000/stamp") ||
	h_fail "curl web on w1"
[ -n "$stamp" ] || h_fail "web has no stamp"
for i in $(seq 20); do
	redis-cli -h "$w1" -p 6379 set "key$i" "value$i" >/dev/null || h_fail "redis set on w1"
done
d_log "both apps run on w1 and answer by name"
# logs through the hub: asked of w1, which holds kv
"$PICOCENTER" app logs kv --token "$tok" | grep -q "Ready to accept connections" ||
	h_fail "app logs kv through the hub: $("$PICOCENTER" app logs kv --token "$tok" 2>&1 | tail -n 3)"


hr_worker w2 "$hub" "$wtok"
hr_wait_up w2 "$tok"
w2=${HR_ADDR[w2]}

# Bad moves: nothing changes.
out=$("$PICOCENTER" app move web --to nope --token "$tok" 2>&1) && h_fail "a move to an unknown worker worked"
grep -q "worker nope is not up" <<<"$out" || h_fail "move to nope: $out"
out=$("$PICOCENTER" app move web --to w2 --token "$bob" 2>&1) && h_fail "bob moved alice's app"
grep -q "no such app" <<<"$out" || h_fail "bob's move: $out"
got=$(hr_app "$tok" web "j['worker'] + ' ' + j['holder']")
[ "$got" = "w1 w1" ] || h_fail "a bad move changed web: $got"

# A move that fails: w1 cannot swap stuck out; the record goes back to w1, where stuck keeps
# running and answering, and the failure shows in app inspect.
"$PICOCENTER" app move stuck --to w2 --token "$tok" >/dev/null || h_fail "app move stuck --to w2"
hr_wait_app "$tok" stuck "j['worker'] == 'w1' and j['holder'] == 'w1' and 'unlinked file' in (j['move_failed'] or '')" 400
hr_wait_app "$tok" stuck "j['state'] == 'running'" 100
[ "$(h_dig a +short stuck.$H_ZONE A)" = "$w1" ] || h_fail "stuck does not resolve to w1 after its failed move"
curl -sS --fail --max-time 5 -o /dev/null "http://$w1:8001/hostname" || h_fail "curl stuck on w1 after its failed move"
grep -q "app stuck: worker w1 could not hand it over" "$D_DIR/a.hub.log" || h_fail "the hub did not log the failed move"
! grep -q "app stuck" "$D_DIR/w2.hub.log" || h_fail "w2 touched stuck: $(grep 'app stuck' "$D_DIR/w2.hub.log")"
"$PICOCENTER" app inspect stuck --token "$tok" | grep -q "move_failed" || h_fail "app inspect does not show the failed move"
h_expect 200 a "$tok" DELETE /apps/stuck >/dev/null
for i in $(seq 100); do
	grep -q "app stuck: removed" "$D_DIR/w1.hub.log" && break
	sleep 0.05
done
d_log "a move that failed put stuck back on w1, running, with the error in app inspect"

# The move of a running app, its writable layer with it.
"$PICOCENTER" app move web --to w2 --token "$tok" >/dev/null || h_fail "app move web --to w2"
[ "$(h_dig a +short web.$H_ZONE A)" = "$w2" ] || h_fail "web does not resolve to w2 after the move"
hr_wait_app "$tok" web "j['holder'] == 'w2' and j['state'] == 'running' and j['image_ms'] > 0"
got=$(curl -sS --fail --max-time 5 "http://$w2:8000/stamp") || h_fail "curl web on w2"
[ "$got" = "$stamp" ] || h_fail "web on w2 has stamp '$got', not '$stamp' (its layer did not move)"
grep -q "app web: swapped out and let go" "$D_DIR/w1.hub.log" || h_fail "w1 did not let web go"
# w2's state dir is not w1's: web writes on into w2's own log (where app
# logs through the hub, asked of w2, reads it), not into the path w1 gave
for i in $(seq 100); do
	grep -q "GET /stamp" "$D_DIR/w-w2/apps/web/log" 2>/dev/null && break
	sleep 0.05
done
grep -q "GET /stamp" "$D_DIR/w-w2/apps/web/log" 2>/dev/null ||
	h_fail "web on w2 did not log its request in w2's state dir"
"$PICOCENTER" app logs web --token "$tok" | grep -q "GET /stamp" ||
	h_fail "app logs web through the hub does not show its request on w2"
d_log "web moved from w1 to w2 with its writable layer, its log in w2's state dir"

# swap-out and swap-in through the hub: asked of w2, which holds web
# (what the answer shows is the app right after; something revives web at
# once now and then, so the test asks w2's log what it did)
"$PICOCENTER" app swap-out web --token "$tok" >/dev/null || h_fail "app swap-out web through the hub"
grep -Eq "app web: swapped out in [0-9]+ ms \(api\)" "$D_DIR/w2.hub.log" ||
	h_fail "w2 did not swap web out: $(grep 'app web' "$D_DIR/w2.hub.log")"
got=$("$PICOCENTER" app swap-in web --token "$tok") || h_fail "app swap-in web through the hub"
[ "${got%% (*}" = "web running" ] || h_fail "swap-in web: $got"
[ "$(curl -sS --fail --max-time 5 "http://$w2:8000/stamp")" = "$stamp" ] || h_fail "curl web after swap-in"
out=$("$PICOCENTER" app swap-out web --token "$bob" 2>&1) && h_fail "bob swapped alice's app out"
grep -q "no such app" <<<"$out" || h_fail "bob's swap-out: $out"
h_expect 501 a "$tok" GET "/apps/kv/logs?follow=1" >/dev/null
grep -q "app web: swap-out asked through the hub: 200" "$D_DIR/w2.hub.log" || h_fail "w2 did not log the swap-out"
d_log "swap-out and swap-in of web through the hub"

# kv swaps out on w1 (idle 1.5 s); then w1's machine dies.
hr_wait_app "$tok" kv "j['state'] in ('napping', 'asleep') and j['image_ms'] > 0" 400
hr_kill w1
# the first query after w1 is down answers w2 at once; w2 revives kv
for i in $(seq 100); do
	[ "$(h_dig a +short kv.$H_ZONE A)" = "$w2" ] && break
	sleep 0.05
done
[ "$(h_dig a +short kv.$H_ZONE A)" = "$w2" ] || h_fail "kv does not resolve to w2 after w1 died"
# w2 makes kv's box ahead of its image and holds its packets: a client
# that connects while the image is fetched is held, not refused (one try)
for i in $(seq 1000); do
	grep -q "app kv: its box made ahead" "$D_DIR/w2.hub.log" && break
	sleep 0.005
done
got=$(redis-cli -h "$w2" -p 6379 ping 2>&1)
[ "$got" = PONG ] || h_fail "kv on w2, connected while it was revived: $got"
grep -Eq "app kv: [0-9]+ packets? held for it go(es)? on" "$D_DIR/w2.hub.log" ||
	h_fail "w2 held no packet for kv while it revived it: $(grep 'app kv' "$D_DIR/w2.hub.log")"
for i in $(seq 20); do
	got=$(redis-cli -h "$w2" -p 6379 get "key$i") || h_fail "redis get on w2"
	[ "$got" = "value$i" ] || h_fail "kv on w2: key$i is '$got'"
done
hr_wait_app "$tok" kv "j['holder'] == 'w2' and j['state'] == 'running' and j['recovered'] is None"
d_log "kv revived on w2 from the store after w1 died, its keys intact"


# w2 dies with web running: web is restarted on w3 from its last image.
hr_worker w3 "$hub" "$wtok"
hr_wait_up w3 "$tok"
w3=${HR_ADDR[w3]}
# tick: its timer due 12 s after it starts; it runs on w2 (moved there if
# placed elsewhere) and falls asleep there before w2 dies.
h_expect 201 a "$tok" POST /apps "{\"name\":\"tick\",\"argv\":[\"$TBIN/serve/timerapp\",\"7000\",\"12\",\"/srv/fired\"],\"idle_ms\":1000,\"sleep_ms\":0}" >/dev/null
hr_wait_app "$tok" tick "j['holder'] != '' and j['state'] == 'running'" 400
if [ "$(hr_app "$tok" tick "j['worker']")" != w2 ]; then
	"$PICOCENTER" app move tick --to w2 --token "$tok" >/dev/null || h_fail "app move tick --to w2"
fi
hr_wait_app "$tok" tick "j['holder'] == 'w2' and j['state'] in ('napping', 'asleep') and (j['timer_due_ms'] or 0) > 0" 400
due=$(hr_app "$tok" tick "j['timer_due_ms']")
img=$(hr_app "$tok" web "j['image_ms']")
hr_kill w2
hr_wait_app "$tok" web "j['holder'] == 'w3' and j['state'] == 'running'" 400
[ "$(hr_app "$tok" web "j['recovered']")" = "$img" ] ||
	h_fail "web is not marked recovered from its image of $img: $(h_expect 200 a "$tok" GET /apps/web)"
[ "$(h_dig a +short web.$H_ZONE A)" = "$w3" ] || h_fail "web does not resolve to w3"
got=$(curl -sS --fail --max-time 5 --retry 20 --retry-delay 0 --retry-connrefused "http://$w3:8000/stamp") ||
	h_fail "curl web on w3"
[ "$got" = "$stamp" ] || h_fail "web on w3 has stamp '$got', not '$stamp'"
"$PICOCENTER" app inspect web --token "$tok" | grep -q "recovered" || h_fail "app inspect does not show recovered"
d_log "web restarted on w3 from its image after w2 died (recovered)"

# tick: moved to w3 when w2 was found down, taken over asleep, woken by
# its timer when due
grep -q "app tick: its worker w2 is down; moved asleep to the worker at $w3" "$D_DIR/a.hub.log" ||
	h_fail "the hub did not move tick off w2 at once: $(grep 'app tick' "$D_DIR/a.hub.log")"
for i in $(seq 600); do
	grep -q "^fired " "$D_DIR/w-w3/boxes/tick/upper/srv/fired" 2>/dev/null && break
	sleep 0.05
done
fired=$(awk '/^fired / { print $2 }' "$D_DIR/w-w3/boxes/tick/upper/srv/fired" 2>/dev/null)
[ -n "$fired" ] || h_fail "tick's timer did not fire on w3 (due at $due): $(grep 'app tick' "$D_DIR/w3.hub.log")"
grep -q "app tick: taken over asleep" "$D_DIR/w3.hub.log" ||
	h_fail "w3 did not take tick over asleep: $(grep 'app tick' "$D_DIR/w3.hub.log")"
grep -Eq "app tick: swapped in in [0-9]+ ms \(trigger timer\)" "$D_DIR/w3.hub.log" ||
	h_fail "w3 did not wake tick by its timer: $(grep 'app tick' "$D_DIR/w3.hub.log")"
d_log "tick's timer fired $((fired - due)) ms after it was due, on w3"
[ "$((fired - due))" -ge -100 ] && [ "$((fired - due))" -le 5000 ] ||
	h_fail "tick's timer fired at $fired, due at $due"
hr_wait_app "$tok" tick "j['holder'] == 'w3' and j['state'] == 'running'"
h_expect 200 a "$tok" DELETE /apps/tick >/dev/null

# app rm through the hub: w3 removes it, its image too.
h_expect 200 a "$tok" DELETE /apps/web >/dev/null
for i in $(seq 100); do
	grep -q "app web: removed" "$D_DIR/w3.hub.log" && break
	sleep 0.05
done
grep -q "app web: removed" "$D_DIR/w3.hub.log" || h_fail "w3 did not remove web"
d_log "PASS"

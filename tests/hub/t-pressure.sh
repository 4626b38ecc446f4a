#!/bin/bash
# t-pressure.sh - moves under memory pressure (lib_run.sh's workers, the
# store 20 ms away): w1 says it is short of memory below 1 TiB free
# (--mem-low 1024G: always, without exhausting anything), w2 below 4 MiB.
# web (python3 -m http.server, --memory 64M) is placed on w1 while it is
# the only worker; when w2 comes up the hub moves web to it by `app
# move`'s path: swapped out on w1 with a file its start wrote, revived on
# w2, served there unchanged; the hub logs why.  Nothing moves back.
. "$(dirname "$0")/lib.sh"
HR_DELAY_MS=20
. "$(dirname "$0")/lib_run.sh"
hr_init hub-pressure
h_start a --worker-timeout 1s
tok=$(h_tenant a alice)
wtok=$("$PICOCENTER" hub worker-token --state-dir "$D_DIR/a") || h_fail "worker-token"
hub=unix:$D_DIR/a/api.sock

hr_worker w1 "$hub" "$wtok" --mem-low 1024G
hr_wait_up w1 "$tok"
low=$(h_expect 200 a "$tok" GET /workers | h_json "[w['mem_low_bytes'] for w in j if w['name'] == 'w1'][0]")
[ "$low" = $((1 << 40)) ] || h_fail "w1's threshold is '$low', not 1 TiB"
web_cmd='mkdir -p /srv/www && date +%s%N >/srv/www/stamp && exec /usr/bin/python3 -m http.server 8000 --bind 0.0.0.0 --directory /srv/www'
h_expect 201 a "$tok" POST /apps "{\"name\":\"web\",\"argv\":[\"/bin/sh\",\"-c\",\"$web_cmd\"],\"publish\":[\"8000:8000\"],\"memory\":67108864,\"idle_ms\":600000}" >/dev/null
hr_wait_app "$tok" web "j['holder'] == 'w1' and j['state'] == 'running'" 400
stamp=$(curl -sS --fail --max-time 5 "http://${HR_ADDR[w1]}:8000/stamp") || h_fail "curl web on w1"
# alone, short w1 keeps it: no worker has room
sleep 1
[ "$(hr_app "$tok" web "j['worker']")" = w1 ] || h_fail "web left w1 with no worker to take it"

hr_worker w2 "$hub" "$wtok" --mem-low 4M
hr_wait_up w2 "$tok"
hr_wait_app "$tok" web "j['holder'] == 'w2' and j['state'] == 'running'" 600
grep -q "worker w1 is short of memory (.* MiB free, under 1048576): app web (64 MiB) moves to w2" "$D_DIR/a.hub.log" ||
	h_fail "the hub did not log the move: $(grep 'short of memory' "$D_DIR/a.hub.log")"
grep -q "app web: swapped out and let go" "$D_DIR/w1.hub.log" || h_fail "w1 did not let web go"
[ "$(h_dig a +short web.$H_ZONE A)" = "${HR_ADDR[w2]}" ] || h_fail "web does not resolve to w2"
got=$(curl -sS --fail --max-time 5 "http://${HR_ADDR[w2]}:8000/stamp") || h_fail "curl web on w2"
[ "$got" = "$stamp" ] || h_fail "web on w2 has stamp '$got', not '$stamp'"
[ "$(grep -c "short of memory" "$D_DIR/a.hub.log")" = 1 ] || h_fail "more than one move: $(grep 'short of memory' "$D_DIR/a.hub.log")"
h_expect 200 a "$tok" DELETE /apps/web >/dev/null
d_log "PASS"

#!/bin/bash
# t-api.sh - the hub's API and CLI: bearer tokens (none, malformed,
# unknown: 401 with a message; a worker's token cannot act as a tenant's
# and the other way round: 403); malformed requests (400); tenants see
# and change only their own apps; placement (spreading a tenant, ports
# per worker, none left: 503); a worker that stops heartbeating is marked
# down and comes back up with its next heartbeat; app move; `picocenter app` and
# `tenant` against the hub, over its socket and over HTTPS; --listen
# without a certificate is refused.
. "$(dirname "$0")/lib.sh"
h_init hub-api
h_start a --worker-timeout 3s

alice=$(h_tenant a alice)
bob=$(h_tenant a bob)
"$PICOCENTER" tenant create alice --state-dir "$D_DIR/a" 2>/dev/null && h_fail "a duplicate tenant was created"
"$PICOCENTER" tenant create Bad_Name --state-dir "$D_DIR/a" 2>/dev/null && h_fail "a bad tenant name was taken"
wtok=$("$PICOCENTER" hub worker-token --state-dir "$D_DIR/a") || h_fail "worker-token"

# Tokens.
for t in "" "pc_nothex" "pc_$(printf '%064d' 0)" "$wtok"; do
	got=$(h_api a "$t" GET /apps)
	want=401
	[ "$t" = "$wtok" ] && want=403
	[ "${got%% *}" = $want ] || h_fail "token '$t': want $want, got $got"
	echo "$got" | grep -q '"error":"[a-z]' || h_fail "token '$t': no message: $got"
done
h_expect 403 a "$alice" PUT /workers/w1 '{"address":"192.0.2.1","mem_total_bytes":1,"mem_free_bytes":1}' >/dev/null

# Workers: two, one with more memory (beat again before each placement:
# they are marked down after 3 s of silence).
beat() {
	h_worker a "$wtok" w1 192.0.2.1 8192
	h_worker a "$wtok" w2 192.0.2.2 4096
}
beat
for body in '{' '[]' '{"address":"192.0.2.3"}' '{"address":"nope","mem_total_bytes":1,"mem_free_bytes":1}' \
	'{"address":"192.0.2.3","mem_total_bytes":1,"mem_free_bytes":2}' \
	'{"address":"192.0.2.3","mem_total_bytes":1,"mem_free_bytes":1,"x":1}'; do
	h_expect 400 a "$wtok" PUT /workers/w3 "$body" >/dev/null
done
h_expect 400 a "$wtok" PUT /workers/W_3 '{"address":"192.0.2.3","mem_total_bytes":1,"mem_free_bytes":1}' >/dev/null
# an address is one worker's
h_expect 409 a "$wtok" PUT /workers/w3 '{"address":"192.0.2.1","mem_total_bytes":1,"mem_free_bytes":1}' >/dev/null

# Malformed app requests.
for body in '' '{' '{"name":"x"}' '{"name":"x","argv":"ls"}' '{"name":"x","argv":["ls"],"bogus":1}' \
	'{"name":"Upper","argv":["ls"]}' '{"name":"ns","argv":["ls"]}' '{"name":"x","argv":["ls"],"publish":["0:0"]}' \
	'{"name":"x","name":"y","argv":["ls"]}'; do
	out=$(h_expect 400 a "$alice" POST /apps "$body")
	echo "$out" | grep -q '"error"' || h_fail "no message for $body"
done
h_expect 404 a "$alice" GET /nothing >/dev/null

# Placement: alice's first app on the worker with the most memory, her
# second spread to the other; a port taken on both leaves no place.
beat
w=$(h_expect 201 a "$alice" POST /apps '{"name":"web","argv":["httpd"],"publish":["80:80"]}' | h_json 'j["worker"]')
[ "$w" = w1 ] || h_fail "web placed on $w, not w1"
w=$(h_expect 201 a "$alice" POST /apps '{"name":"web2","argv":["httpd"],"publish":["80:80"]}' | h_json 'j["worker"]')
[ "$w" = w2 ] || h_fail "web2 placed on $w, not w2"
h_expect 503 a "$alice" POST /apps '{"name":"web3","argv":["httpd"],"publish":["80:80"]}' >/dev/null
h_expect 409 a "$alice" POST /apps '{"name":"web","argv":["httpd"],"publish":["81:81"]}' >/dev/null
# a plain app's ports are taken on its worker too; a memory limit larger
# than any worker has free leaves no place
h_expect 503 a "$alice" POST /apps '{"name":"plain","argv":["x"],"runtime":"plain","ports":[80]}' >/dev/null
h_expect 503 a "$alice" POST /apps "{\"name\":\"huge\",\"argv\":[\"x\"],\"memory\":$((9000 << 20))}" >/dev/null
# bob's first app goes where alice has fewest: a tie, the most memory
beat
w=$(h_expect 201 a "$bob" POST /apps '{"name":"bobs","argv":["sh"],"publish":["22:22"]}' | h_json 'j["worker"]')
[ "$w" = w1 ] || h_fail "bobs placed on $w"

# Tenants: bob sees nothing of alice's.
n=$(h_expect 200 a "$bob" GET /apps | h_json 'len(j)')
[ "$n" = 1 ] || h_fail "bob lists $n apps"
h_expect 404 a "$bob" GET /apps/web >/dev/null
h_expect 404 a "$bob" DELETE /apps/web >/dev/null
h_expect 404 a "$bob" POST /apps/web/swap-in >/dev/null
h_expect 409 a "$bob" POST /apps '{"name":"web","argv":["x"]}' >/dev/null
h_expect 200 a "$alice" GET /apps/web >/dev/null
# no worker holds web (these workers are the API's alone): its swap-out
# has nobody to ask
out=$(h_expect 409 a "$alice" POST /apps/web/swap-out)
grep -q "not held by a worker that is up" <<<"$out" || h_fail "swap-out of an unheld app: $out"
h_expect 405 a "$alice" GET /apps/web/swap-out >/dev/null
n=$(h_expect 200 a "$alice" GET /apps | h_json 'len(j)')
[ "$n" = 2 ] || h_fail "alice lists $n apps"

# app move: to a worker where its port is taken, to no worker, of
# another tenant, with a bad body: refused; to a worker that can take it:
# its record, ports and DNS answer move.
beat
h_expect 409 a "$alice" POST /apps/web/move '{"to":"w2"}' >/dev/null
h_expect 409 a "$alice" POST /apps/web/move '{"to":"w9"}' >/dev/null
h_expect 409 a "$alice" POST /apps/web/move '{"to":"w1"}' >/dev/null
h_expect 404 a "$bob" POST /apps/web/move '{"to":"w2"}' >/dev/null
for body in '' '{}' '{"to":1}' '{"to":"W2"}' '{"to":"w2","x":1}'; do
	h_expect 400 a "$alice" POST /apps/web/move "$body" >/dev/null
done
h_expect 201 a "$alice" POST /apps '{"name":"mv","argv":["x"],"publish":["90:90"]}' >/dev/null
from=$(h_expect 200 a "$alice" GET /apps/mv | h_json 'j["worker"]')
to=w1
[ "$from" = w1 ] && to=w2
beat
w=$(PICOCENTER_HUB=unix:$D_DIR/a/api.sock PICOCENTER_TOKEN=$alice "$PICOCENTER" app move mv --to $to) ||
	h_fail "app move"
echo "$w" | grep -q "^mv moved to $to (192.0.2.${to#w})$" || h_fail "app move said: $w"
[ "$(h_dig a +short mv.$H_ZONE A)" = "192.0.2.${to#w}" ] || h_fail "mv does not resolve to $to"
# its port moved with it: the old worker takes another app on 90
h_expect 201 a "$alice" POST /apps '{"name":"mv2","argv":["x"],"publish":["90:90"]}' >/dev/null
h_expect 200 a "$alice" DELETE /apps/mv2 >/dev/null

# Tenants on the hub's machine.
"$PICOCENTER" tenant rm bob --state-dir "$D_DIR/a" 2>/dev/null && h_fail "a tenant with apps was removed"
"$PICOCENTER" tenant ls --state-dir "$D_DIR/a" | grep -q "^alice  *3  *-  *-$" || h_fail "tenant ls"
h_expect 200 a "$bob" DELETE /apps/bobs >/dev/null
"$PICOCENTER" tenant rm bob --state-dir "$D_DIR/a" >/dev/null || h_fail "tenant rm bob"
h_expect 401 a "$bob" GET /apps >/dev/null

# Limits: carl may have one app and 100 MiB (an app without --memory
# counts as 64 MiB).
carl=$("$PICOCENTER" tenant create carl --max-apps 1 --max-memory 100M --state-dir "$D_DIR/a") ||
	h_fail "tenant create with limits"
beat
h_expect 201 a "$carl" POST /apps '{"name":"c1","argv":["x"]}' >/dev/null
out=$(h_expect 403 a "$carl" POST /apps '{"name":"c2","argv":["x"]}')
echo "$out" | grep -q "at most 1 apps" || h_fail "max-apps message: $out"
"$PICOCENTER" tenant limit carl --max-apps 5 --max-memory 100M --state-dir "$D_DIR/a" || h_fail "tenant limit"
out=$(h_expect 403 a "$carl" POST /apps "{\"name\":\"c2\",\"argv\":[\"x\"],\"memory\":$((64 << 20))}")
echo "$out" | grep -q "at most 100 MiB" || h_fail "max-memory message: $out"
h_expect 404 a "$carl" GET /apps/c2 >/dev/null
"$PICOCENTER" tenant ls --state-dir "$D_DIR/a" | grep -q "^carl  *1  *5  *100$" || h_fail "tenant ls with limits"
"$PICOCENTER" tenant limit carl --max-apps 0 --max-memory 0 --state-dir "$D_DIR/a" || h_fail "tenant limit 0"
h_expect 201 a "$carl" POST /apps "{\"name\":\"c2\",\"argv\":[\"x\"],\"memory\":$((64 << 20))}" >/dev/null
"$PICOCENTER" tenant limit nobody --max-apps 1 --state-dir "$D_DIR/a" 2>/dev/null && h_fail "limit of no tenant"

# The CLI through the hub's socket, with the token from the environment.
export PICOCENTER_HUB=unix:$D_DIR/a/api.sock PICOCENTER_TOKEN=$alice
beat
"$PICOCENTER" app create cli --port 8080 -- sleep 1 | grep -q "^cli placed$" || h_fail "app create via the hub"
"$PICOCENTER" app ls | grep -q "^cli  *placed" || h_fail "app ls via the hub"
"$PICOCENTER" app inspect cli --json | h_json 'j["worker"]' | grep -q '^w[12]$' || h_fail "app inspect"
"$PICOCENTER" app rm cli | grep -q "cli removed" || h_fail "app rm"
out=$("$PICOCENTER" app inspect cli 2>&1) && h_fail "inspect of a removed app"
echo "$out" | grep -q "no such app" || h_fail "inspect message: $out"
out=$("$PICOCENTER" app ls --token "pc_$(printf '%064d' 1)" 2>&1) && h_fail "ls with a bad token"
echo "$out" | grep -q "bad token" || h_fail "bad token message: $out"
unset PICOCENTER_HUB PICOCENTER_TOKEN

# Worker health: w2 stays silent past the 1 s timeout, w1 beats on.
beat
for i in $(seq 80); do
	h_worker a "$wtok" w1 192.0.2.1 8192
	st=$(h_expect 200 a "$alice" GET /workers | h_json '[w["state"] for w in j if w["name"]=="w2"][0]')
	[ "$st" = down ] && break
	sleep 0.1
done
[ "$st" = down ] || h_fail "w2 is '$st' after 8 s of silence"
st=$(h_expect 200 a "$alice" GET /workers | h_json '[w["state"] for w in j if w["name"]=="w1"][0]')
[ "$st" = up ] || h_fail "w1 is $st"
grep -q "worker w2: down" "$D_DIR/a.hub.log" || h_fail "no log line for w2"
# no new app goes to a down worker
w=$(h_expect 201 a "$alice" POST /apps '{"name":"late","argv":["x"],"publish":["81:81"]}' | h_json 'j["worker"]')
[ "$w" = w1 ] || h_fail "late placed on $w"
h_worker a "$wtok" w2 192.0.2.2 4096
st=$(h_expect 200 a "$alice" GET /workers | h_json '[w["state"] for w in j if w["name"]=="w2"][0]')
[ "$st" = up ] || h_fail "w2 is $st after a heartbeat"

# HTTPS: a hub with a self-signed certificate, reached by curl and the CLI.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$D_DIR/key.pem" -out "$D_DIR/cert.pem" \
	>/dev/null 2>&1 || h_fail "openssl req"
out=$("$PICOCENTER" hub --state-dir "$D_DIR/b" --zone $H_ZONE --listen 127.0.0.1:1 2>&1) &&
	h_fail "--listen without a certificate started"
echo "$out" | grep -q "tls-cert" || h_fail "--listen without a certificate: $out"
h_port https
h_start b --listen "127.0.0.1:$https" --tls-cert "$D_DIR/cert.pem" --tls-key "$D_DIR/key.pem"
carol=$(h_tenant b carol)
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$D_DIR/cert.pem" \
	-H "Authorization: Bearer $carol" "https://127.0.0.1:$https/apps")
[ "$code" = 200 ] || h_fail "GET /apps over HTTPS: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$D_DIR/cert.pem" "https://127.0.0.1:$https/apps")
[ "$code" = 401 ] || h_fail "no token over HTTPS: $code"
curl -s -o /dev/null "http://127.0.0.1:$https/apps" -m 5 && h_fail "plain HTTP answered on the HTTPS port"
"$PICOCENTER" app ls --hub "https://127.0.0.1:$https" --token "$carol" --cacert "$D_DIR/cert.pem" \
	>/dev/null || h_fail "app ls over HTTPS"
"$PICOCENTER" app ls --hub "https://127.0.0.1:$https" --token "$carol" >/dev/null 2>&1 &&
	h_fail "an unknown certificate was trusted"
d_log "PASS"

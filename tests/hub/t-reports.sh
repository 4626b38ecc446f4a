#!/bin/bash
# t-reports.sh - the hub's side of workers that run apps, through the API
# alone, over SQLite and over PostgreSQL: a worker's reports on an app
# (accepted from the worker it is placed on, refused from another, 400
# for a bad body), the app's state and image time as reported, the image
# time never going back; GET /workers/NAME/sync (the version, the apps,
# a long-poll that ends with news); a running app of a worker that
# goes silent while no other worker is up moves as soon as one is, its
# holder cleared and marked recovered with its image's time.
. "$(dirname "$0")/lib.sh"
h_init hub-reports
pg_start

# check HUB: the cases on hub HUB.
check() {
	local hub=$1 tok wtok w other v bg out got
	tok=$(h_tenant "$hub" alice)
	wtok=$("$PICOCENTER" hub worker-token --state-dir "$D_DIR/$hub") || h_fail "worker-token"
	h_worker "$hub" "$wtok" w1 192.0.2.1
	h_worker "$hub" "$wtok" w2 192.0.2.2
	h_expect 201 "$hub" "$tok" POST /apps '{"name":"web","argv":["x"]}' >/dev/null
	w=$(h_expect 200 "$hub" "$tok" GET /apps/web | h_json 'j["worker"]')
	other=$([ "$w" = w1 ] && echo w2 || echo w1)
	[ "$(h_expect 200 "$hub" "$tok" GET /apps/web | h_json 'j["state"]')" = placed ] ||
		h_fail "$hub: a new app is not placed"

	h_expect 200 "$hub" "$wtok" PUT "/workers/$w/apps/web" '{"held":true,"state":"running","image_ms":5}' >/dev/null
	h_expect 200 "$hub" "$wtok" PUT "/workers/$w/apps/web" '{"held":true,"state":"napping","image_ms":3}' >/dev/null
	[ "$(h_expect 200 "$hub" "$tok" GET /apps/web | h_json 'j["state"] + " " + j["holder"] + " " + str(j["image_ms"])')" = "napping $w 5" ] ||
		h_fail "$hub: the reports: $(h_expect 200 "$hub" "$tok" GET /apps/web)"
	h_expect 409 "$hub" "$wtok" PUT "/workers/$other/apps/web" '{"held":true,"state":"running","image_ms":5}' |
		grep -q "is not placed on worker $other" || h_fail "$hub: a report from the wrong worker"
	h_expect 409 "$hub" "$wtok" PUT "/workers/$other/apps/web" '{"held":false,"image_ms":5}' |
		grep -q "does not hold app web" || h_fail "$hub: a let-go from the wrong worker"
	h_expect 404 "$hub" "$wtok" PUT "/workers/$w/apps/nope" '{"held":true,"state":"running","image_ms":5}' >/dev/null
	h_expect 400 "$hub" "$wtok" PUT "/workers/$w/apps/web" '{"held":true,"state":"bogus","image_ms":5}' |
		grep -q "'state' must be" || h_fail "$hub: a bad state"
	h_expect 400 "$hub" "$wtok" PUT "/workers/$w/apps/web" '{"held":false,"state":"running","image_ms":5}' >/dev/null
	h_expect 400 "$hub" "$wtok" PUT "/workers/$w/apps/web" '{"held":true,"state":"running","image_ms":-1}' >/dev/null
	h_expect 403 "$hub" "$tok" PUT "/workers/$w/apps/web" '{"held":true,"state":"running","image_ms":5}' >/dev/null

	# sync: the apps and a version; a wait with the current version
	# ends with news (an app created meanwhile)
	v=$(h_expect 200 "$hub" "$wtok" GET "/workers/$w/sync?seen=0&wait=0" | h_json 'j["version"]')
	[ "$(h_expect 200 "$hub" "$wtok" GET "/workers/$w/sync?seen=0&wait=0" | h_json '[a["name"] for a in j["apps"]]')" = "['web']" ] ||
		h_fail "$hub: sync does not list web"
	# (a heartbeat for $w only: $other goes down first, then $w, so that
	# when $w goes down no worker is up to take web)
	h_worker "$hub" "$wtok" "$w" "192.0.2.${w#w}"
	( sleep 0.3; h_expect 201 "$hub" "$tok" POST /apps '{"name":"other","argv":["x"]}' >/dev/null ) &
	bg=$!
	out=$(h_expect 200 "$hub" "$wtok" GET "/workers/$w/sync?seen=$v&wait=5000")
	wait "$bg" || h_fail "$hub: POST other"
	got=$(h_expect 200 "$hub" "$wtok" GET "/workers/$w/sync?seen=0&wait=0" | h_json 'j["version"]')
	[ "$(echo "$out" | h_json 'j["version"]')" -gt "$v" ] ||
		h_fail "$hub: the long-poll brought no news: $out"
	[ "$got" -gt "$v" ] || h_fail "$hub: the version did not move"
	h_expect 200 "$hub" "$tok" DELETE /apps/other >/dev/null

	# web runs on $w; every worker goes silent; then $other comes back:
	# web moves there, recovered from its image of time 5
	h_expect 200 "$hub" "$wtok" PUT "/workers/$w/apps/web" '{"held":true,"state":"running","image_ms":5}' >/dev/null
	for i in $(seq 100); do
		[ "$(h_expect 200 "$hub" "$tok" GET /workers | h_json '",".join(sorted(x["state"] for x in j))')" = down,down ] && break
		sleep 0.1
	done
	sleep 0.6
	[ "$(h_expect 200 "$hub" "$tok" GET /apps/web | h_json 'j["worker"]')" = "$w" ] ||
		h_fail "$hub: web moved with no worker up"
	h_worker "$hub" "$wtok" "$other" "192.0.2.${other#w}"
	for i in $(seq 40); do
		[ "$(h_expect 200 "$hub" "$tok" GET /apps/web | h_json 'j["worker"]')" = "$other" ] && break
		sleep 0.05
	done
	[ "$(h_expect 200 "$hub" "$tok" GET /apps/web | h_json 'j["worker"] + " [" + j["holder"] + "] " + j["state"] + " " + str(j["recovered"])')" = "$other [] stored 5" ] ||
		h_fail "$hub: web after its worker went down: $(h_expect 200 "$hub" "$tok" GET /apps/web)"
	grep -q "app web: it ran on $w, which is down; restarted on the worker at 192.0.2.${other#w}" "$D_DIR/$hub.hub.log" ||
		h_fail "$hub: no log line for web's move"
	h_expect 200 "$hub" "$tok" DELETE /apps/web >/dev/null
	d_log "$hub: PASS"
}

h_start s --worker-timeout 2s
check s
h_start p --db "$PG_URL" --worker-timeout 2s
check p
d_log "PASS"

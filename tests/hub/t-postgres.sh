#!/bin/bash
# t-postgres.sh - two hubs over one real PostgreSQL (Debian's, started by
# the test in its work dir on a unix socket): what one records the other
# answers at once, in DNS and the API; one hub is killed with SIGKILL and
# the other keeps answering and recording; each lists both as the zone's
# name servers (NS with glue) while both live, and the dead one drops out
# after --hub-timeout; placement over both keeps one
# app per name and per port; a hub that cannot reach its database fails
# at start with a clear message.
. "$(dirname "$0")/lib.sh"
h_init hub-postgres
pg_start

# No database there: a clear error, quickly, and no hub left running.
start=$SECONDS
out=$("$PICOCENTER" hub --state-dir "$D_DIR/x" --zone $H_ZONE --dns 127.0.0.1:1 \
	--db "postgresql://postgres@/postgres?host=$D_DIR/nowhere" 2>&1) && h_fail "a hub without a database started"
echo "$out" | grep -q "registry (postgresql): cannot connect" || h_fail "unclear error: $out"
[ $((SECONDS - start)) -le 10 ] || h_fail "the failing hub took $((SECONDS - start)) s"
out=$("$PICOCENTER" hub --state-dir "$D_DIR/x" --zone $H_ZONE --dns 127.0.0.1:1 --db mysql://x 2>&1) &&
	h_fail "a mysql URL was taken"
echo "$out" | grep -q "want postgresql://" || h_fail "unclear --db error: $out"

h_start a --db "$PG_URL"
h_start b --db "$PG_URL" --ns-address 127.0.0.2

# ns_of HUB: HUB's NS answer, "NAME=GLUE ..." sorted.
ns_of() {
	h_dig "$1" +noall +answer +additional $H_ZONE NS | awk '
		$4 == "NS" { ns[$5] = "" } $4 == "A" { glue[$1] = $5 }
		END { for (n in ns) print n "=" glue[n] }' | sort | tr '\n' ' '
}
# ns_wait HUB WANT: HUB's NS answer becomes WANT within 10 s.
ns_wait() {
	local i got
	for i in $(seq 100); do
		got=$(ns_of "$1")
		[ "$got" = "$2" ] && return 0
		sleep 0.1
	done
	h_fail "hub $1's NS: '$got', want '$2'"
}
both="a.ns.$H_ZONE.=127.0.0.1 b.ns.$H_ZONE.=127.0.0.2 "
ns_wait a "$both"
ns_wait b "$both"
[ "$(h_dig a +short b.ns.$H_ZONE A)" = 127.0.0.2 ] || h_fail "a does not resolve b's name server"
h_dig b +short $H_ZONE SOA | grep -q "^b.ns.$H_ZONE. " || h_fail "b's SOA does not name b"

# race TOKEN TAG N FIELDS: 2N app creates at once, apps TAGaI through hub
# a and TAGbI through hub b (body {"name", "argv", FIELDS}); each answer
# in $D_DIR/TAG.aI or .bI.
race() {
	local i h pids=()
	for i in $(seq "$3"); do
		for h in a b; do
			h_api $h "$1" POST /apps "{\"name\":\"$2$h$i\",\"argv\":[\"x\"]$4}" \
				>"$D_DIR/$2.$h$i" &
			pids+=($!)
		done
	done
	wait "${pids[@]}"
}
grep -q "registry postgresql" "$D_DIR/a.hub.log" || h_fail "hub a is not on PostgreSQL"

# The tenant and worker token made on a's machine work on b.
tok=$(h_tenant a alice)
wtok=$("$PICOCENTER" hub worker-token --state-dir "$D_DIR/b") || h_fail "worker-token"
"$PICOCENTER" tenant ls --state-dir "$D_DIR/b" | grep -q "^alice " || h_fail "b does not see alice"
h_worker a "$wtok" w1 192.0.2.1
h_worker b "$wtok" w2 192.0.2.2

# Placement through both hubs at once: 10 apps on one port, 5 from each
# hub; two workers take two of them, the rest are refused, and the
# refused names leave nothing behind.
race "$tok" race 5 ',"publish":["9000:9000"]'
placed=$(cat "$D_DIR"/race.* | grep -c "^201 ")
refused=$(cat "$D_DIR"/race.* | grep -c "^503 ")
[ "$placed" = 2 ] && [ "$refused" = 8 ] || h_fail "race: $placed placed, $refused refused: $(cat "$D_DIR"/race.*)"
workers=$(h_expect 200 b "$tok" GET /apps | h_json '",".join(sorted(a["worker"] for a in j))')
[ "$workers" = w1,w2 ] || h_fail "race: apps on $workers"
h_expect 409 b "$tok" POST /apps "{\"name\":\"$(cat "$D_DIR"/race.* | grep "^201" | head -n 1 |
	sed 's/.*"name":"\([a-z0-9]*\)".*/\1/')\",\"argv\":[\"x\"]}" >/dev/null

# A tenant's limit holds across hubs: 8 creates at once through both, at
# most 3 apps.
dan=$("$PICOCENTER" tenant create dan --max-apps 3 --state-dir "$D_DIR/a") || h_fail "tenant dan"
race "$dan" lim 4 ''
made=$(cat "$D_DIR"/lim.* | grep -c "^201 ")
[ "$made" = 3 ] || h_fail "dan has $made apps, limit 3: $(cat "$D_DIR"/lim.*)"
n=$(h_expect 200 b "$dan" GET /apps | h_json 'len(j)')
[ "$n" = 3 ] || h_fail "dan lists $n apps"

# What a records, b answers at once, in DNS and the API.
h_expect 201 a "$tok" POST /apps '{"name":"web","argv":["httpd"],"publish":["80:80"]}' >/dev/null
addr=$(h_dig b +short web.$H_ZONE A)
[ "$addr" = 192.0.2.1 ] || [ "$addr" = 192.0.2.2 ] || h_fail "b resolves web to '$addr'"
h_expect 200 b "$tok" GET /apps/web >/dev/null

# a dies; b goes on: DNS over UDP and TCP, the API, new records.
kill -KILL "${H_PID[a]}"
wait "${H_PID[a]}" 2>/dev/null
unset 'H_PID[a]'
[ "$(h_dig b +short web.$H_ZONE A)" = "$addr" ] || h_fail "b stopped answering web over UDP"
[ "$(h_dig b +tcp +short web.$H_ZONE A)" = "$addr" ] || h_fail "b stopped answering web over TCP"
# a is no name server once its heartbeat is older than --hub-timeout (5 s)
ns_wait b "b.ns.$H_ZONE.=127.0.0.2 "
[ "$(h_status b a.ns.$H_ZONE A)" = NXDOMAIN ] || h_fail "b still resolves a dead hub's name server"
h_expect 201 b "$tok" POST /apps '{"name":"after","argv":["x"],"publish":["81:81"]}' >/dev/null
[ -n "$(h_dig b +short after.$H_ZONE A)" ] || h_fail "b does not resolve an app made after a died"
n=$(h_expect 200 b "$tok" GET /apps | h_json 'len(j)')
[ "$n" = 4 ] || h_fail "b lists $n apps, not 4"
h_worker b "$wtok" w1 192.0.2.1
h_expect 200 b "$tok" DELETE /apps/web >/dev/null
[ "$(h_status b web.$H_ZONE A)" = NXDOMAIN ] || h_fail "a removed app still resolves"

# a comes back on the same database and sees everything b did.
h_start a --db "$PG_URL"
[ -n "$(h_dig a +short after.$H_ZONE A)" ] || h_fail "the restarted hub does not resolve 'after'"
ns_wait b "$both"

# The database goes away: DNS answers SERVFAIL, the API 503 with the
# reason, the apex still answers; it comes back: the same hubs answer
# again and nothing is lost.
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null || h_fail "pg_ctl stop"
[ "$(h_status b after.$H_ZONE A)" = SERVFAIL ] || h_fail "no SERVFAIL without the database"
[ "$(h_dig b +short $H_ZONE SOA)" != "" ] || h_fail "no SOA without the database"
out=$(h_expect 503 b "$tok" GET /apps)
echo "$out" | grep -q "registry unavailable" || h_fail "503 without a reason: $out"
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 \
	-o "-k $PG_DIR -c listen_addresses= -c fsync=off" start >/dev/null || h_fail "postgres did not restart"
[ -n "$(h_dig b +short after.$H_ZONE A)" ] || h_fail "b does not answer after the database came back"
n=$(h_expect 200 a "$tok" GET /apps | h_json 'len(j)')
[ "$n" = 3 ] || h_fail "a lists $n apps after the outage, not 3"
d_log "PASS"

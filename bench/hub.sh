#!/bin/bash
# hub.sh - speed of `picocenter hub`; prints JSON lines.
#
#   bench/hub.sh                  PARTS="dns revive move" SECONDS_EACH=5 APPS=200
#                                 TRIALS=5 DELAY_MS=20 MOVE_MB=100
#
# dns:
# A hub on a temporary state dir, APPS app records placed on 3 workers,
# then dnsperf (Debian's) asks for SECONDS_EACH seconds, 20 queries in
# flight, for each case:
#   registry  sqlite | postgresql (Debian's, started here on a unix socket)
#   query     placed (A of an app: a registry lookup), nxdomain (an unknown
#             name under the zone: the same lookup, empty), apex (SOA: no
#             lookup)
# Each line: queries per second, mean and max latency (ms) as dnsperf
# reports them, lost queries.  (An answer for a running or swapped-out
# app is the same lookup as for a placed one, plus a wake for the latter.)
#
# revive and move run real workers (tests/hub/lib_run.sh: each in
# namespaces of its own, radosgw as the store behind bench/delayproxy with
# DELAY_MS added to every store request), medians of TRIALS:
#   revive  an asleep redis-server whose worker died is reached by name on
#           a worker that never ran it (its cache cold): the time from the
#           client's DNS query to the first byte of PING's answer
#           (bench/lib/dns_first_byte.py), and the worker's swap-in; the
#           query once `worker ls` shows the dead worker down, or with
#           EARLY=1 the moment it does (polled without a pause);
#   move    `app move` of a running app holding MOVE_MB MiB of random
#           bytes (python3) between two workers: the time from the move
#           request to the first byte of its answer on the other worker.
set -u
cd "$(dirname "$0")/.." || exit 1
export ROOT=$PWD PICOCENTER=$PWD/build/picocenter TBIN=$PWD/build/tests
export DCLIENT=$TBIN/daemons/dclient KEEPALIVE=$TBIN/daemons/keepalive
SECONDS_EACH=${SECONDS_EACH:-5}
APPS=${APPS:-200}
PARTS=${PARTS:-dns revive move}
TRIALS=${TRIALS:-5}
EARLY=${EARLY:-}
MOVE_MB=${MOVE_MB:-100}
export HR_DELAY_MS=${DELAY_MS:-20} HR_HUB=r
. tests/hub/lib.sh
. tests/hub/lib_run.sh
command -v dnsperf >/dev/null || { echo "bench/hub.sh: dnsperf is not installed (make deps)" >&2; exit 1; }
case " $PARTS " in
*" revive "*|*" move "*) hr_init bench-hub >&2 ;;
*) h_init bench-hub >&2 ;;
esac

# measure REGISTRY QUERY FILE HUB: one JSON line.
measure() {
	local out qps mean max lost
	out=$(dnsperf -s 127.0.0.1 -p "${H_DNS[$4]}" -d "$3" -l "$SECONDS_EACH" -q 20 -c 4 2>&1)
	qps=$(echo "$out" | awk '/Queries per second:/ { print $4 }')
	mean=$(echo "$out" | awk '/Average Latency/ { gsub(/[(),]/, " "); print $5 * 1000 }')
	max=$(echo "$out" | awk '/Average Latency/ { gsub(/[(),]/, " "); print $9 * 1000 }')
	lost=$(echo "$out" | awk '/Queries lost:/ { print $3 }')
	printf '{"bench":"hub_dns","registry":"%s","query":"%s","qps":%s,"latency_mean_ms":%s,"latency_max_ms":%s,"lost":%s,"apps":%d,"seconds":%d}\n' \
		"$1" "$2" "${qps:-null}" "${mean:-null}" "${max:-null}" "${lost:-null}" "$APPS" "$SECONDS_EACH"
}

# run REGISTRY HUB: apps placed through HUB, then the three cases.
run() {
	local tok wtok i
	tok=$(h_tenant "$2" bench)
	wtok=$("$PICOCENTER" hub worker-token --state-dir "$D_DIR/$2") || h_fail "worker-token"
	for i in 1 2 3; do h_worker "$2" "$wtok" "w$i" "192.0.2.$i" 65536; done
	for i in $(seq "$APPS"); do
		h_expect 201 "$2" "$tok" POST /apps "{\"name\":\"app$i\",\"argv\":[\"x\"]}" >/dev/null
	done
	for i in $(seq "$APPS"); do echo "app$i.$H_ZONE A"; done >"$D_DIR/placed"
	for i in $(seq "$APPS"); do echo "none$i.$H_ZONE A"; done >"$D_DIR/nxdomain"
	echo "$H_ZONE SOA" >"$D_DIR/apex"
	for q in placed nxdomain apex; do
		measure "$1" "$q" "$D_DIR/$q" "$2"
	done
}

# median: the median of the numbers on stdin.
median() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2); else print "null" }'
}

# The last "swapped in in N ms" of app $1 in worker $2's log.
swap_in_ms() {
	grep "app $1: swapped in in" "$D_DIR/$2.hub.log" | tail -n 1 | sed 's/.*swapped in in \([0-9]*\) ms.*/\1/'
}

# revive: each trial, the app asleep on worker X; a new worker Y; X dies;
# the query and PING through Y.
revive() {
	local tok wtok x y i out ms=() sw=() tries=()
	tok=$(h_tenant r bench)
	wtok=$("$PICOCENTER" hub worker-token --state-dir "$D_DIR/r") || h_fail "worker-token"
	x=v0
	hr_worker "$x" "unix:$D_DIR/r/api.sock" "$wtok" && hr_wait_up "$x" "$tok"
	h_expect 201 r "$tok" POST /apps '{"name":"rkv","argv":["/usr/bin/redis-server","--port","6379","--bind","0.0.0.0","--save","","--appendonly","no","--protected-mode","no"],"publish":["6379:6379"],"idle_ms":1000,"sleep_ms":0}' >/dev/null
	for i in $(seq "$TRIALS"); do
		hr_wait_app "$tok" rkv "j['holder'] == '$x' and j['state'] == 'asleep' and j['image_ms'] > 0" 600
		y=v$i
		hr_worker "$y" "unix:$D_DIR/r/api.sock" "$wtok" && hr_wait_up "$y" "$tok"
		hr_kill "$x"
		if [ -n "$EARLY" ]; then   # the query the moment the hub marks X down
			until h_expect 200 r "$tok" GET /workers |
				grep -Eq "\"name\": ?\"$x\", ?\"address\": ?\"[^\"]*\", ?\"state\": ?\"down\""; do :; done
		else
			hr_wait_down "$x" "$tok"
		fi
		out=$(python3 bench/lib/dns_first_byte.py 127.0.0.1 "${H_DNS[r]}" "rkv.$H_ZONE" 6379 'PING\r\n') ||
			h_fail "revive trial $i"
		echo "$out" >&2
		ms+=("$(echo "$out" | h_json 'j["ms"]')")
		tries+=("$(echo "$out" | h_json 'j["connect_tries"]')")
		hr_wait_app "$tok" rkv "j['holder'] == '$y' and j['state'] == 'running'" 200
		sw+=("$(swap_in_ms rkv "$y")")
		x=$y
	done
	printf '{"bench":"hub_revive_cold","app":"redis","delay_ms":%s,"trials":%d,"query_to_first_byte_ms_median":%s,"swap_in_ms_median":%s,"query_to_first_byte_ms":[%s],"connect_tries":[%s]}\n' \
		"$HR_DELAY_MS" "$TRIALS" "$(printf '%s\n' "${ms[@]}" | median)" \
		"$(printf '%s\n' "${sw[@]}" | median)" "$(IFS=,; echo "${ms[*]}")" \
		"$(IFS=,; echo "${tries[*]}")"
}

# move: a running app with MOVE_MB MiB of random bytes, back and forth.
move() {
	local tok wtok i to t0 t1 out ms=() cmd
	tok=$(h_tenant r mover)
	wtok=$("$PICOCENTER" hub worker-token --state-dir "$D_DIR/r") || h_fail "worker-token"
	hr_worker m1 "unix:$D_DIR/r/api.sock" "$wtok" && hr_wait_up m1 "$tok"
	cmd="import os, http.server as h; blob = os.urandom($MOVE_MB << 20); h.HTTPServer(('0.0.0.0', 8000), h.SimpleHTTPRequestHandler).serve_forever()"
	h_expect 201 r "$tok" POST /apps "{\"name\":\"big\",\"argv\":[\"/usr/bin/python3\",\"-c\",\"$cmd\"],\"publish\":[\"8000:8000\"],\"idle_ms\":3600000,\"workdir\":\"/tmp\"}" >/dev/null
	hr_wait_app "$tok" big "j['holder'] == 'm1' and j['state'] == 'running'" 600
	hr_worker m2 "unix:$D_DIR/r/api.sock" "$wtok" && hr_wait_up m2 "$tok"
	for i in $(seq "$TRIALS"); do
		to=m$((i % 2 + 1))
		t0=$(date +%s%N)
		h_expect 200 r "$tok" POST /apps/big/move "{\"to\":\"$to\"}" >/dev/null
		out=$(python3 bench/lib/dns_first_byte.py - 0 "${HR_ADDR[$to]}" 8000 \
			'GET / HTTP/1.0\r\n\r\n') || h_fail "move trial $i"
		t1=$(echo "$out" | h_json 'j["end_ns"]')
		ms+=($(((t1 - t0) / 1000000)))
		echo "move to $to: ${ms[-1]} ms" >&2
		hr_wait_app "$tok" big "j['holder'] == '$to' and j['state'] == 'running'" 200
	done
	printf '{"bench":"hub_move","app":"python3","mib":%d,"delay_ms":%s,"trials":%d,"move_to_first_byte_ms_median":%s,"move_to_first_byte_ms":[%s]}\n' \
		"$MOVE_MB" "$HR_DELAY_MS" "$TRIALS" "$(printf '%s\n' "${ms[@]}" | median)" "$(IFS=,; echo "${ms[*]}")"
}

case " $PARTS " in
*" revive "*|*" move "*)
	h_start r --worker-timeout 1s
	case " $PARTS " in *" revive "*) revive ;; esac
	case " $PARTS " in *" move "*) move ;; esac
	;;
esac
case " $PARTS " in
*" dns "*) ;;
*) exit 0 ;;
esac
h_start s --worker-timeout 1h
run sqlite s
pg_start >&2
h_start p --db "$PG_URL" --worker-timeout 1h
run postgresql p

#!/bin/bash
# hub.sh - speed of `picocenter hub`'s DNS; prints JSON lines.
#
#   bench/hub.sh                  SECONDS_EACH=5 APPS=200
#
# A hub on a temporary state dir, APPS app records placed on 3 workers,
# then dnsperf (Debian's) asks for SECONDS_EACH seconds, 20 queries in
# flight, for each case:
#   registry  sqlite | postgresql (Debian's, started here on a unix socket)
#   query     placed (A of an app: a registry lookup), nxdomain (an unknown
#             name under the zone: the same lookup, empty), apex (SOA: no
#             lookup)
# Each line: queries per second, mean and max latency (ms) as dnsperf
# reports them, lost queries.  Apps are not run by workers yet, so
# "running" and "swapped out" answers are the same lookup as "placed".
set -u
cd "$(dirname "$0")/.." || exit 1
export ROOT=$PWD PICOCENTER=$PWD/build/picocenter TBIN=$PWD/build/tests
export DCLIENT=$TBIN/daemons/dclient KEEPALIVE=$TBIN/daemons/keepalive
SECONDS_EACH=${SECONDS_EACH:-5}
APPS=${APPS:-200}
. tests/hub/lib.sh
command -v dnsperf >/dev/null || { echo "bench/hub.sh: dnsperf is not installed (make deps)" >&2; exit 1; }
h_init bench-hub >&2

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

h_start s --worker-timeout 1h
run sqlite s
pg_start >&2
h_start p --db "$PG_URL" --worker-timeout 1h
run postgresql p

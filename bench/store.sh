#!/bin/bash
# store.sh - benchmarks of the store backends; prints JSON lines.
#
#   bench/store.sh            (starts a throwaway radosgw unless
#                              AWS_ENDPOINT_URL and credentials are set)
#
# 1. put/get latency and throughput of 4 KiB .. 4 MiB objects, one at a
#    time on loopback, against radosgw (s3) and the local backend (file);
# 2. fetching a 64 MiB image in ranged GETs with 20 ms added to every
#    request by bench/delayproxy: all ranges in parallel (get_many) next to
#    the same ranges one after another (target: parallel >= 4x faster);
# 3. the same image put with `picocenter store put` and fetched through the
#    delaying proxy with `picocenter store get`.
# bench/delayproxy.c is built here with cc into build/ (not part of make).
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
DELAY_MS=${DELAY_MS:-20}
U=build/tests/s3/u-s3
PC=build/picocenter
TMP=$(mktemp -d /tmp/picocenter-bench.XXXXXX)
PROXY_PID=
OWN_SERVER=0

cleanup() {
	[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null
	[ $OWN_SERVER = 1 ] && PICOCENTER_S3_DIR=$TMP/s3server scripts/s3-server.sh stop
	rm -rf "$TMP"
}
trap cleanup EXIT
die() { echo "bench/store.sh: $*" >&2; exit 1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

make -s "$U" "$PC" >&2 || die "build failed"
cc -std=c17 -O2 -Wall -Wextra -Werror -pthread -o build/delayproxy bench/delayproxy.c ||
	die "cannot build bench/delayproxy"

if [ -z "${AWS_ENDPOINT_URL:-}" ] || [ -z "${AWS_ACCESS_KEY_ID:-}" ]; then
	t0=$(now_ms)
	env=$(PICOCENTER_S3_DIR=$TMP/s3server scripts/s3-server.sh start) || die "s3 server failed"
	OWN_SERVER=1
	eval "$env"
	echo "{\"bench\":\"store\",\"op\":\"s3-server-start\",\"seconds\":$(( ($(now_ms) - t0) / 1000 )).$(( ($(now_ms) - t0) % 1000 / 100 ))}"
fi
BUCKET=${BENCH_BUCKET:-pcbench}
$U mb "$BUCKET" || die "cannot create bucket $BUCKET"
S3=s3://$BUCKET/bench-$$
FILE=file://$TMP/filestore
mkdir -p "$TMP/filestore"

# 1. latency and throughput
for sc in 4096:200 65536:100 1048576:40 4194304:15; do
	size=${sc%:*} count=${sc#*:}
	$U bench-putget "$S3" "$size" "$count" || die "s3 put/get $size"
	$U bench-putget "$FILE" "$size" "$count" || die "file put/get $size"
done

# 2. 64 MiB in ranged GETs behind the delaying proxy
build/delayproxy -t "${AWS_ENDPOINT_URL#http://}" -d "$DELAY_MS" >"$TMP/proxy.port" &
PROXY_PID=$!
for _ in $(seq 50); do [ -s "$TMP/proxy.port" ] && break; sleep 0.1; done
PROXY=http://127.0.0.1:$(head -n 1 "$TMP/proxy.port")
SIZE=$((64 << 20))
$U put-random "$S3" image "$SIZE" >/dev/null || die "put the 64 MiB object"
for chunk in 262144 1048576; do
	AWS_ENDPOINT_URL=$PROXY $U bench-fetch "$S3" image "$SIZE" "$chunk" |
		sed "s/}\$/,\"delay_ms\":$DELAY_MS}/" || die "fetch"
done

# 3. the store's own image get, through the proxy
mkdir -p "$TMP/img"
head -c "$SIZE" /dev/urandom >"$TMP/img/pages"
echo bench >"$TMP/img/manifest"
$PC store put --store "$S3" --image bench --dir "$TMP/img" >/dev/null || die "store put"
t0=$(now_ms)
AWS_ENDPOINT_URL=$PROXY $PC store get --store "$S3" --image bench --dir "$TMP/out" >/dev/null ||
	die "store get"
t=$(($(now_ms) - t0))
cmp -s "$TMP/img/pages" "$TMP/out/pages" || die "store get returned other bytes"
echo "{\"bench\":\"store\",\"backend\":\"s3\",\"op\":\"image-get\",\"size\":$SIZE,\"delay_ms\":$DELAY_MS,\"seconds\":$((t / 1000)).$(printf %03d $((t % 1000)))}"

#!/bin/bash
# activeset.sh - revival from the object store: four restores of the
# working-set program (tests/activeset/progs/wsprog.c: T pages, each
# request reads a window of W) compared, one JSON line each:
#
#   activeset  lazy from the store, the image's ActiveSet installed first
#   lazy       lazy from the store, ActiveSet ignored (--no-activeset)
#   eager      every page fetched before the tree resumes (--eager)
#   download   the whole image downloaded, then restored (--dir)
#
# Each line: restore -> first correct response (ms), bytes read from the
# store (null when not counted: eager and download read the whole image,
# image_bytes), faults after resume, resident memory after the first
# request, then a small change (16 pages written) and the swap-out's time
# and bytes written.  Stores: the local file store, and radosgw with
# DELAY_MS (20) added to every request by bench/delayproxy (BENCH_S3=0
# skips it).  Sizes: BENCH_T and BENCH_W (lists), BENCH_S3_T, BENCH_S3_W;
# BENCH_MODES (default all four) and BENCH_FILE=0 (skip the file store).
# A store restore names the generation the last dump committed
# (--generation), as the daemon does, which saves listing the image;
# BENCH_GEN=0 lets it find the newest by a list request instead.
# Dumps keep a local copy of the image's manifest and small files and
# restores read it (--local, as the daemon does: no manifest request);
# BENCH_LOCAL=0 reads them from the store.  BENCH_PC: the picocenter
# binary (default build/picocenter), to compare builds in one run.
# BENCH_1G=1 adds the issue's large case from the delayed store: T =
# 262144 (1 GB), W = 2560 (10 MB), lines as the others (T and W say it).
# BENCH_REPEAT (1): each mode measured that many times in a row (quote
# the medians); BENCH_TIMING=FILE: the restores' PICOCENTER_TIMING lines.
# BENCH_PC_B: a second picocenter binary compared in the same run: each
# case gets an image of its own made by each build, and the two builds'
# restores alternate (lines say "pc":"a" for BENCH_PC, "b" for this one).
# BENCH_SHARE=1: both builds restore one image made by BENCH_PC instead,
# in turns, the very same generation each time: no swap-out after a
# restore (swapout_ms and swapout_bytes are null), the tree is killed.
# Only for builds that both read what BENCH_PC writes.  The 1 GB case
# shares its image whenever BENCH_PC_B is set: two 1 GB images do not fit
# radosgw's store (a PUT times out).
# BENCH_REDIS=1 adds redis-server holding 100 MB (DEBUG POPULATE: 100000
# values of 1000 bytes) whose request (one EVAL) reads 3000 of them, ~3
# MB: lines "bench":"activeset-redis", first_response_ms up to the EVAL's
# answer.
set -u
cd "$(dirname "$0")/.." || exit 1
DELAY_MS=${DELAY_MS:-20}
BENCH_T=${BENCH_T:-"1024 16384 65536"}
BENCH_W=${BENCH_W:-"1 64 2048"}
BENCH_S3=${BENCH_S3:-1}
BENCH_S3_T=${BENCH_S3_T:-"16384 65536"}
BENCH_S3_W=${BENCH_S3_W:-"64 2048"}
BENCH_MODES=${BENCH_MODES:-"activeset lazy eager download"}
BENCH_FILE=${BENCH_FILE:-1}
BENCH_REDIS=${BENCH_REDIS:-0}
BENCH_1G=${BENCH_1G:-0}
BENCH_GEN=${BENCH_GEN:-1}
BENCH_LOCAL=${BENCH_LOCAL:-1}
BENCH_REPEAT=${BENCH_REPEAT:-1}
BENCH_TIMING=${BENCH_TIMING:-}
BENCH_SHARE=${BENCH_SHARE:-0}
REDIS_EVAL="local n=0 for i=0,2999 do n=n+string.len(redis.call('GET','key:'..i)) end return n"
PC=${BENCH_PC:-$PWD/build/picocenter}
PC_A=$PC PC_B=${BENCH_PC_B:-} PCN=a
WS=$PWD/build/tests/activeset/wsprog
U=$PWD/build/tests/s3/u-s3
TMP=$(mktemp -d /tmp/picocenter-bench-as.XXXXXX)
LOCAL=()
[ "$BENCH_LOCAL" = 1 ] && LOCAL=(--local "$TMP/local")
PROXY_PID= OWN_SERVER=0 PIDS=()

# Images this run stored in a server it did not start: removed at the end
# (radosgw's in-memory store holds 2 GB).
STORED=()
forget_images() {
	local u i
	for u in "${STORED[@]}"; do
		for i in $(ls "$TMP"/gen.* 2>/dev/null | sed 's|.*/gen\.||'); do
			"$PC" store rm --store "$u" --image "$i" >/dev/null 2>&1
		done
		"$PC" store gc --store "$u" --grace 0 >/dev/null 2>&1
	done
}

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	[ $OWN_SERVER = 0 ] && forget_images
	[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null
	[ $OWN_SERVER = 1 ] && PICOCENTER_S3_DIR=$TMP/s3server scripts/s3-server.sh stop >/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
die() { echo "bench/activeset.sh: $*" >&2; exit 1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
stat_of() { sed -n "s/.*\"$1\":\([0-9a-z]*\).*/\1/p" <<<"$2"; }

free_port() {
	local p q
	read -r q _ </proc/sys/net/ipv4/ip_local_port_range
	for _ in $(seq 200); do
		p=$((10000 + (RANDOM * 32768 + RANDOM) % (q - 10001)))
		grep -q "$(printf ':%04X ' "$p")" /proc/net/udp /proc/net/tcp 2>/dev/null || { echo "$p"; return; }
	done
	die "no free port"
}

spawn() {   # PORT T -> PID
	local pid
	pid=$("$PC" cr spawn --log "$TMP/log.$1" -- "$WS" serve "$1" "$2") || die "spawn"
	PIDS+=("$pid")
	for _ in $(seq 400); do grep -q ready "$TMP/log.$1" 2>/dev/null && break; sleep 0.05; done
	echo "$pid"
}

# dump PID URL IMAGE -> "ms bytes_new"; the generation committed goes to
# $TMP/gen.IMAGE.
dump() {
	local t0 out
	t0=$(now_ms)
	out=$(PICOCENTER_TIMING=1 "$PC" cr dump --pid "$1" --store "$2" --image "$3" \
		"${LOCAL[@]}" 2>&1) ||
		die "dump: $out"
	sed -n 's/.*dump counters: generation \([0-9]*\).*/\1/p' <<<"$out" >"$TMP/gen.$3"
	echo "$(($(now_ms) - t0)) $(sed -n 's/.*dump counters:.* bytes_new \([0-9]*\).*/\1/p' <<<"$out")"
}

# restore_as MODE URL IMAGE -> PID: a restore in one of the four modes
# (download: into a fresh directory under $TMP, removed by the cleanup).
restore_as() {
	local args=()
	case $1 in
	lazy) args=(--no-activeset) ;;
	eager) args=(--eager) ;;
	download) args=(--dir "$TMP/dl.$RANDOM") ;;
	esac
	if [ "$BENCH_GEN" = 1 ] && [ "$1" != download ] && [ -s "$TMP/gen.$3" ]; then
		args+=(--generation "$(cat "$TMP/gen.$3")" "${LOCAL[@]}")
	fi
	if [ -n "$BENCH_TIMING" ]; then
		echo "== $1 $3" >>"$BENCH_TIMING"
		PICOCENTER_TIMING=1 "$PC" cr restore --store "$2" --image "$3" "${args[@]}" \
			2>>"$BENCH_TIMING"
	else
		"$PC" cr restore --store "$2" --image "$3" "${args[@]}"
	fi
}

# gone PID: kill a revived tree and wait until it is gone.
gone() {
	kill -KILL "$1" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
	die "tree $1 still there after KILL"
}

# One restore of image IMAGE in MODE, a request, a small change, a swap-out
# (shared images: no change, no swap-out, the tree killed).
measure() {
	local store=$1 url=$2 t=$3 w=$4 port=$5 mode=$6 image=$7 pid t0 t1 ms st
	local bytes faults rss d
	t0=$(now_ms)
	pid=$(restore_as "$mode" "$url" "$image") || die "restore $mode"
	PIDS+=("$pid")
	"$WS" ask "$port" 0 "$w" 0 || die "$mode: wrong answer"
	t1=$(now_ms)
	ms=$((t1 - t0))
	st=$("$PC" cr memstat --pid "$pid")
	bytes=$(stat_of bytes_store "$st")
	faults=$(stat_of faults_after_resume "$st")
	rss=$(stat_of rss_kb "$st")
	case $mode in eager | download) bytes=null ;; esac
	[ "$mode" = eager ] && faults=0
	if [ "$SHARE" = 1 ]; then   # the next restore is of this same generation
		gone "$pid"
		d="null null"
	else
		"$WS" write "$port" $((t - 16)) 16 $RANDOM || die "$mode: write"
		d=$(dump "$pid" "$url" "$image")
	fi
	rm -rf "$TMP"/dl.*
	echo "{\"bench\":\"activeset\",\"pc\":\"$PCN\",\"store\":\"$store\",\"local\":$BENCH_LOCAL,\"T\":$t,\"W\":$w,\"mode\":\"$mode\",\"first_response_ms\":$ms,\"bytes_store\":$bytes,\"image_bytes\":$((t * 4096)),\"working_set_bytes\":$((w * 4096)),\"faults_after_resume\":$faults,\"rss_kb\":$rss,\"swapout_ms\":${d% *},\"swapout_bytes\":${d#* }}"
}

# ---- redis holding 100 MB ----
redis_ask() {   # PORT: the request; its answer must be 3000 values of 1000 bytes
	[ "$(redis-cli -p "$1" EVAL "$REDIS_EVAL" 0 2>/dev/null)" = 3000000 ]
}

redis_spawn() {   # PORT -> PID
	local pid
	mkdir -p "$TMP/redis.$1"
	pid=$(cd "$TMP/redis.$1" && "$PC" cr spawn --log "$TMP/log.$1" -- redis-server \
		--port "$1" --bind 127.0.0.1 --save "" --appendonly no \
		--enable-debug-command yes) || die "spawn redis"
	PIDS+=("$pid")
	for _ in $(seq 100); do redis-cli -p "$1" PING >/dev/null 2>&1 && break; sleep 0.1; done
	redis-cli -p "$1" DEBUG POPULATE 100000 key 1000 >/dev/null || die "populate redis"
	echo "$pid"
}

redis_measure() {   # STORE URL PORT MODE IMAGE
	local store=$1 url=$2 port=$3 mode=$4 image=$5 pid t0 ms st d
	t0=$(now_ms)
	pid=$(restore_as "$mode" "$url" "$image") || die "redis restore $mode"
	PIDS+=("$pid")
	redis_ask "$port" || die "redis $mode: wrong answer"
	ms=$(($(now_ms) - t0))
	st=$("$PC" cr memstat --pid "$pid")
	local bytes faults rss
	bytes=$(stat_of bytes_store "$st")
	faults=$(stat_of faults_after_resume "$st")
	rss=$(stat_of rss_kb "$st")
	case $mode in eager | download) bytes=null ;; esac
	[ "$mode" = eager ] && faults=0
	redis-cli -p "$port" SET key:99999 changed >/dev/null || die "redis $mode: set"
	d=$(dump "$pid" "$url" "$image")
	rm -rf "$TMP"/dl.*
	echo "{\"bench\":\"activeset-redis\",\"store\":\"$store\",\"local\":$BENCH_LOCAL,\"mode\":\"$mode\",\"first_response_ms\":$ms,\"bytes_store\":$bytes,\"faults_after_resume\":$faults,\"rss_kb\":$rss,\"swapout_ms\":${d% *},\"swapout_bytes\":${d#* }}"
}

run_redis() {   # STORE-NAME URL
	local port pid image=redis-100m mode
	command -v redis-server >/dev/null || { echo "bench/activeset.sh: no redis-server, redis case skipped" >&2; return; }
	port=$(free_port)
	pid=$(redis_spawn "$port")
	PIDS+=("$pid")   # redis_spawn ran in a subshell: its PIDS+= is lost
	redis_ask "$port" || die "redis: first answer"
	dump "$pid" "$2" "$image" >/dev/null
	pid=$("$PC" cr restore --store "$2" --image "$image") || die "redis learning restore"
	PIDS+=("$pid")
	redis_ask "$port" || die "redis: learning answer"
	dump "$pid" "$2" "$image" >/dev/null
	for mode in $BENCH_MODES; do
		redis_measure "$1" "$2" "$port" "$mode" "$image"
	done
}

# A fresh image of T pages whose ActiveSet was learned over one revival.
prepare() {
	local url=$1 t=$2 w=$3 port=$4 image=$5 pid
	pid=$(spawn "$port" "$t")
	PIDS+=("$pid")   # spawn ran in a subshell: its PIDS+= is lost
	"$WS" ask "$port" 0 "$w" 0 || die "first answer"
	dump "$pid" "$url" "$image" >/dev/null
	pid=$("$PC" cr restore --store "$url" --image "$image") || die "learning restore"
	PIDS+=("$pid")
	"$WS" ask "$port" 0 "$w" 0 || die "learning answer"
	dump "$pid" "$url" "$image" >/dev/null
}

# use_pc a|b: the build the next commands run.
use_pc() {
	PCN=$1
	if [ "$1" = b ]; then PC=$PC_B; else PC=$PC_A; fi
}

# image_of IMAGE P: the image build P restores (one for both when shared).
image_of() {
	if [ "$SHARE" = 1 ]; then echo "$1-a"; else echo "$1-$2"; fi
}

run_store() {   # STORE-NAME URL TS WS [SHARE]
	local store=$1 url=$2 t w port image pcs=a p SHARE=${5:-$BENCH_SHARE}
	[ -n "$PC_B" ] && pcs="a b"
	for t in $3; do
		for w in $4; do
			[ "$w" -le "$t" ] || continue
			port=$(free_port)
			image=ws-$t-$w
			for p in $pcs; do
				[ "$SHARE" = 1 ] && [ "$p" = b ] && continue
				use_pc "$p"
				prepare "$url" "$t" "$w" "$port" "$image-$p"
			done
			# Each mode's repeats in a row: a revival without the page
			# server (eager) records no ActiveSet for the next one.
			for mode in $BENCH_MODES; do
				for _ in $(seq "$BENCH_REPEAT"); do
					for p in $pcs; do
						use_pc "$p"
						measure "$store" "$url" "$t" "$w" "$port" "$mode" \
							"$(image_of "$image" "$p")"
					done
				done
			done
			use_pc a
		done
	done
}

make -s build/picocenter "$WS" "$U" >&2 || die "build failed"
mkdir -p "$TMP/store"
[ "$BENCH_FILE" = 1 ] && run_store file "file://$TMP/store" "$BENCH_T" "$BENCH_W"
[ "$BENCH_FILE" = 1 ] && [ "$BENCH_REDIS" = 1 ] && run_redis file "file://$TMP/store"

[ "$BENCH_S3" = 1 ] || exit 0
cc -std=c17 -O2 -Wall -Wextra -Werror -pthread -o build/delayproxy bench/delayproxy.c ||
	die "cannot build bench/delayproxy"
if [ -z "${AWS_ENDPOINT_URL:-}" ] || [ -z "${AWS_ACCESS_KEY_ID:-}" ]; then
	env=$(PICOCENTER_S3_DIR=$TMP/s3server scripts/s3-server.sh start) || die "s3 server failed"
	OWN_SERVER=1
	eval "$env"
fi
BUCKET=${BENCH_BUCKET:-pcbench}
"$U" mb "$BUCKET" || die "cannot create bucket $BUCKET"
build/delayproxy -t "${AWS_ENDPOINT_URL#http://}" -d "$DELAY_MS" >"$TMP/proxy.port" &
PROXY_PID=$!
for _ in $(seq 50); do [ -s "$TMP/proxy.port" ] && break; sleep 0.1; done
AWS_ENDPOINT_URL=http://127.0.0.1:$(head -n 1 "$TMP/proxy.port")
export AWS_ENDPOINT_URL
STORED=("s3://$BUCKET/activeset-$$" "s3://$BUCKET/activeset-redis-$$")
run_store "s3+${DELAY_MS}ms" "s3://$BUCKET/activeset-$$" "$BENCH_S3_T" "$BENCH_S3_W"
share1g=$BENCH_SHARE
[ -n "$PC_B" ] && share1g=1
[ "$BENCH_1G" = 1 ] && run_store "s3+${DELAY_MS}ms" "s3://$BUCKET/activeset-$$" 262144 2560 "$share1g"
if [ "$BENCH_REDIS" = 1 ]; then
	run_redis "s3+${DELAY_MS}ms" "s3://$BUCKET/activeset-redis-$$"
fi

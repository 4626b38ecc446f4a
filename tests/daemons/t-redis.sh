#!/bin/bash
# t-redis.sh - redis-server (in memory only: save "", appendonly no) through
# dump/restore cycles: before each cycle redis-cli SETs a new key and INCRs
# a counter; after it every key SET so far reads back, the counter and the
# server's run_id are unchanged, and its background threads (bio_*,
# jemalloc_bg_thd) are all there again (lib.sh compares the thread list).
d=$(dirname "$0"); [ -f "$d/lib.sh" ] || d=$d/..; . "$d/lib.sh"
d_need redis-server redis-cli
d_init redis
PORT=$(d_port)
d_spawn $(d_conf_redis "$PORT")

rcli() { timeout "$D_TIMEOUT" redis-cli -h 127.0.0.1 -p "$PORT" "$@"; }
ping() { [ "$(rcli ping)" = PONG ]; }
runid() { rcli info server | tr -d '\r' | sed -n 's/^run_id://p'; }
declare -A VAL=()

d_wait "redis PING" ping
RUNID=$(runid)
[ -n "$RUNID" ] || d_fail "no run_id in INFO server"
VAL[k0]="value-0-$RANDOM"
d_expect "SET k0" OK rcli set k0 "${VAL[k0]}"

pre() {
	local k=k$1
	VAL[$k]="value-$1-$RANDOM$RANDOM"
	d_expect "SET $k" OK rcli set "$k" "${VAL[$k]}"
	d_expect "INCR counter" "$1" rcli incr counter
	d_expect "GET $k before the cycle" "${VAL[$k]}" rcli get "$k"
}

post() {
	local k
	d_expect "PING after cycle $1" PONG rcli ping
	for k in "${!VAL[@]}"; do
		d_expect "GET $k after cycle $1" "${VAL[$k]}" rcli get "$k"
	done
	d_expect "counter after cycle $1" "$1" rcli get counter
	d_expect "DBSIZE after cycle $1" $((${#VAL[@]} + 1)) rcli dbsize
	d_expect "GET of a key never SET" "" rcli get nosuchkey
	[ "$(runid)" = "$RUNID" ] || d_fail "run_id changed: the server restarted"
}

d_cycles pre post
d_finish

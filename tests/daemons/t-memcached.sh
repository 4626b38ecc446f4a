#!/bin/bash
# t-memcached.sh - memcached with 4 worker threads through dump/restore
# cycles, driven over its text protocol by progs/dclient.c: before each
# cycle a new key is set; after it every key set so far reads back and a
# key never set is a miss.  lib.sh checks that all threads (mc-worker x4,
# the maintainers) are back.
d=$(dirname "$0"); [ -f "$d/lib.sh" ] || d=$d/..; . "$d/lib.sh"
d_need memcached
d_init memcached
PORT=$(d_port)
d_spawn $(d_conf_memcached "$PORT")

mc() { "$DCLIENT" -t 3000 mc "$PORT" "$@"; }
declare -A VAL=()

d_wait "memcached" mc get nosuchkey -
VAL[k0]="value-0-$RANDOM"
mc set k0 "${VAL[k0]}" || d_fail "set k0"

pre() {
	local k=k$1
	VAL[$k]="value-$1-$RANDOM$RANDOM"
	mc set "$k" "${VAL[$k]}" || d_fail "set $k"
	mc get "$k" "${VAL[$k]}" || d_fail "get $k before the cycle"
}

post() {
	local k
	for k in "${!VAL[@]}"; do
		mc get "$k" "${VAL[$k]}" || d_fail "get $k after cycle $1"
	done
	mc get nosuchkey - || d_fail "a key never set is not a miss after cycle $1"
}

d_cycles pre post
d_finish

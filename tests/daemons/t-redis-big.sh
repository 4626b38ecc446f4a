#!/bin/bash
# t-redis-big.sh - redis-server holding about 150 MB of data through
# dump/restore cycles, with its memory restored lazily (the default): right
# after each restore, while the page server is still filling, a random key
# must be there (STRLEN: DEBUG POPULATE pads values with zero bytes), and DEBUG DIGEST (a hash over the whole dataset,
# which reads every value) must equal the digest taken before the dump.
# Before each cycle part of the data is rewritten, so each image differs.
D_CYCLES=${D_CYCLES:-5}
d=$(dirname "$0"); [ -f "$d/lib.sh" ] || d=$d/..; . "$d/lib.sh"
d_need redis-server redis-cli
d_init redis-big
PORT=$(d_port)
d_conf_redis "$PORT" >/dev/null
echo "enable-debug-command yes" >>"$D_DIR/redis.conf"
d_spawn redis-server "$D_DIR/redis.conf"

rcli() { timeout 60 redis-cli -h 127.0.0.1 -p "$PORT" "$@"; }
ping() { [ "$(rcli ping)" = PONG ]; }
d_wait "redis PING" ping
KEYS=300000
d_expect "DEBUG POPULATE" OK rcli debug populate "$KEYS" key 400
used=$(rcli info memory | tr -d '\r' | sed -n 's/^used_memory://p')
d_log "redis holds $KEYS keys, used_memory $used bytes"
[ "${used:-0}" -ge 100000000 ] || d_fail "only ${used:-0} bytes used: too small to test lazy memory"

pre() {
	local i
	for i in $(seq 20); do
		rcli set "key:$((RANDOM * 7 % KEYS))" "cycle $1 value $i $RANDOM" >/dev/null ||
			d_fail "SET before cycle $1"
	done
	DIGEST=$(rcli debug digest)
	[ ${#DIGEST} = 40 ] || d_fail "DEBUG DIGEST gave '$DIGEST'"
}

post() {
	local k=key:$((RANDOM % KEYS)) len
	len=$(rcli strlen "$k")
	[ "${len:-0}" -gt 0 ] || d_fail "STRLEN $k right after restore $1 gave '$len'"
	d_expect "DEBUG DIGEST after cycle $1" "$DIGEST" rcli debug digest
	d_expect "DBSIZE after cycle $1" "$KEYS" rcli dbsize
}

d_cycles pre post
d_finish

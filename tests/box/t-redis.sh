#!/bin/bash
# t-redis.sh - redis in a box from `host`, its port published on every
# host address, through 10 dump/restore cycles driven by redis-cli: keys
# set before each cycle read back after it on 127.0.0.1 and on the box's
# address; SAVE writes dump.rdb into the box's upper layer (never on the
# host) and it grows cycle after cycle.
d=$(dirname "$0"); . "$d/lib.sh"
b_need redis-server redis-cli nsenter
b_init redis
HP=$(b_port)
DATA=/var/lib/pc-redis-$$
cat >"$B_DIR/redis.conf" <<CONF
port 6379
bind 0.0.0.0
protected-mode no
daemonize no
dir $DATA
logfile ""
appendonly no
save ""
CONF
b_spawn kv --port "$HP:6379" --memory 256M --pids 64 -- sh -c \
	"mkdir -p $DATA && exec redis-server $B_DIR/redis.conf" || b_fail "spawn in a box failed"
PID=$B_PID
BOX=$B_BOXES/kv-$$
ADDR=$(b_addr kv)
cli() { redis-cli -h "$1" -p "$2" "${@:3}"; }
b_wait "redis on 127.0.0.1:$HP" cli 127.0.0.1 "$HP" ping
[ "$(cli "$ADDR" 6379 ping)" = PONG ] || b_fail "no PONG on $ADDR:6379"
NETNS=$(readlink "/proc/$PID/ns/net")
size=0
for c in $(seq 10); do
	[ "$(cli 127.0.0.1 "$HP" set "k$c" "v$c-$RANDOM")" = OK ] || b_fail "SET k$c"
	want[$c]=$(cli 127.0.0.1 "$HP" get "k$c")
	[ "$(cli 127.0.0.1 "$HP" save)" = OK ] || b_fail "SAVE before cycle $c"
	[ -e "$DATA/dump.rdb" ] && b_fail "dump.rdb appeared on the host"
	b_cycle kv "$PID" "$B_DIR/img"
	PID=$B_PID
	for k in $(seq "$c"); do
		[ "$(cli 127.0.0.1 "$HP" get "k$k")" = "${want[$k]}" ] || b_fail "GET k$k on 127.0.0.1 after cycle $c"
		[ "$(cli "$ADDR" 6379 get "k$k")" = "${want[$k]}" ] || b_fail "GET k$k on $ADDR after cycle $c"
	done
	s=$(stat -c %s "$BOX/upper$DATA/dump.rdb") || b_fail "no dump.rdb in the upper layer"
	[ "$s" -gt "$size" ] || b_fail "dump.rdb did not grow ($size -> $s)"
	size=$s
	[ "$(b_in "$PID" hostname)" = "kv-$$" ] || b_fail "hostname lost after cycle $c"
	[ "$(readlink "/proc/$PID/ns/net")" = "$NETNS" ] || b_fail "network namespace changed"
	b_log "cycle $c ok (pid $PID)"
done
[ "$(cli 127.0.0.1 "$HP" dbsize)" = 10 ] || b_fail "dbsize is not 10"
"$PICOCENTER" box rm --box-dir "$B_BOXES" "kv-$$" || b_fail "box rm"
b_leftovers "kv-$$"
b_log PASS

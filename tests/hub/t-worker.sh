#!/bin/bash
# t-worker.sh - `picocenter worker` registers with a hub and heartbeats
# with its address and memory: `worker ls` shows it up with this
# machine's MemTotal, the hub places apps on it and DNS answers its
# address; stopped (SIGSTOP) it falls silent and is marked down, resumed
# it is up again; SIGTERM ends it; a bad token ends it at once with the
# hub's message; a second worker on the same state dir is refused.  An
# app whose worker is down is moved, on its next DNS query, to a worker
# that is up, and the answer is that worker's address.
. "$(dirname "$0")/lib.sh"
h_init hub-worker
h_start a --worker-timeout 1s
tok=$(h_tenant a alice)
wtok=$("$PICOCENTER" hub worker-token --state-dir "$D_DIR/a") || h_fail "worker-token"
export PICOCENTER_HUB=unix:$D_DIR/a/api.sock

"$PICOCENTER" worker --token "$wtok" --state-dir "$D_DIR/w1" --name w1 --address 192.0.2.41 \
	>>"$D_DIR/w1.hub.log" 2>&1 &
wpid=$!
H_PID[w1]=$wpid      # killed with the hubs at exit
for i in $(seq 100); do
	st=$(h_expect 200 a "$tok" GET /workers | h_json '[w["state"] for w in j if w["name"]=="w1"] or ["-"]' 2>/dev/null)
	[ "$st" = "['up']" ] && break
	sleep 0.05
done
[ "$st" = "['up']" ] || h_fail "worker w1 is $st"
total=$(h_expect 200 a "$tok" GET /workers | h_json 'j[0]["mem_total_bytes"]')
want=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) * 1024))
[ "$total" = "$want" ] || h_fail "w1 reports $total bytes, MemTotal is $want"
"$PICOCENTER" worker ls --token "$tok" | grep -q "^w1  *192.0.2.41  *up " || h_fail "worker ls"

"$PICOCENTER" worker --token "$wtok" --state-dir "$D_DIR/w1" --name w1b --address 192.0.2.42 \
	2>"$D_DIR/dup.err" && h_fail "a second worker on one state dir ran"
grep -q "another picocenter worker uses" "$D_DIR/dup.err" || h_fail "dup: $(cat "$D_DIR/dup.err")"
"$PICOCENTER" worker --token "pc_$(printf '%064d' 2)" --state-dir "$D_DIR/w2" --name w2 \
	--address 192.0.2.43 2>"$D_DIR/bad.err" && h_fail "a worker with a bad token ran"
grep -q "bad token" "$D_DIR/bad.err" || h_fail "bad token: $(cat "$D_DIR/bad.err")"

# (a command that does not exist: the workers fail to start it, without a box)
h_expect 201 a "$tok" POST /apps '{"name":"web","argv":["/nonexistent/x"],"runtime":"plain","ports":[80]}' >/dev/null
[ "$(h_dig a +short web.$H_ZONE A)" = 192.0.2.41 ] || h_fail "web does not resolve to w1"

# Silent past the timeout: down; heartbeating again: up.
# wait_state STATE: w1 is STATE within 6 s.
wait_state() {
	local st i
	for i in $(seq 60); do
		st=$(h_expect 200 a "$tok" GET /workers | h_json '[w["state"] for w in j if w["name"]=="w1"][0]')
		[ "$st" = "$1" ] && return 0
		sleep 0.1
	done
	h_fail "worker w1 is $st, not $1"
}
kill -STOP "$wpid"
wait_state down
kill -CONT "$wpid"
wait_state up

# w2 joins; w1 stops again: web's next query moves it to w2.
"$PICOCENTER" worker --token "$wtok" --state-dir "$D_DIR/w2" --name w2 --address 192.0.2.42 \
	>>"$D_DIR/w2.hub.log" 2>&1 &
H_PID[w2]=$!
for i in $(seq 100); do
	n=$(h_expect 200 a "$tok" GET /workers | h_json 'len(j)')
	[ "$n" = 2 ] && break
	sleep 0.05
done
[ "$n" = 2 ] || h_fail "w2 did not register"
[ "$(h_dig a +short web.$H_ZONE A)" = 192.0.2.41 ] || h_fail "web moved while w1 is up"
kill -STOP "$wpid"
wait_state down
[ "$(h_dig a +short web.$H_ZONE A)" = 192.0.2.42 ] || h_fail "web was not moved to w2"
w=$(h_expect 200 a "$tok" GET /apps/web | h_json 'j["worker"]')
[ "$w" = w2 ] || h_fail "web's record is on $w"
# (web never ran: it moves when w1 is marked down, not at the query)
grep -q -E "app web: (its worker w1 is down; moved|it ran on w1, which is down; restarted on) the worker at 192.0.2.42" "$D_DIR/a.hub.log" ||
	h_fail "no log line for the move"
kill -CONT "$wpid"
wait_state up
[ "$(h_dig a +short web.$H_ZONE A)" = 192.0.2.42 ] || h_fail "web moved back"

kill -TERM "$wpid"
wait "$wpid" || h_fail "the worker exited $? on SIGTERM"
grep -q "worker w1: stopping" "$D_DIR/w1.hub.log" || h_fail "no stop line"
d_log "PASS"

#!/bin/bash
# t-asleep.sh - the asleep tier: lighttpd, redis-server and dnsmasq in
# boxes, 1 s idle and 1 s sleep.  Three times each swaps out, naps, falls
# asleep on its own (the daemon's holder gone, box asleep: no veth, its address held in
# the daemon's queue set) and is revived by its own client through the
# published port: the first packet is held, not dropped (curl connects in
# under 1 s: no SYN retransmit; dig gets its answer with one try), with
# every earlier cycle's data.  Then the daemon is killed (SIGKILL) with
# the three asleep and started again: same queue, apps still asleep, and
# each client revives its app.  Under memory pressure (the daemon started
# with PICOCENTER_PRESSURE_PCT=100) a napping app with a 10 min sleep time
# falls asleep at once.  app rm drops the held addresses; a daemon stopped
# with no app asleep removes its queue's chain.
d=$(dirname "$0"); . "$d/lib.sh"
d_need lighttpd redis-server redis-cli dnsmasq dig curl python3 nft
s_init asleep
s_ports 4; WP=${S_PORTS[0]} RP=${S_PORTS[1]} NP=${S_PORTS[2]} PP=${S_PORTS[3]}
CYCLES=${S_CYCLES:-3}

W=web-$$ K=kv-$$ N=dns-$$
s_box_create "$W" 1s "127.0.0.1:$WP:80" -- --sleep 1s -- $(s_box_conf_lighttpd)
s_box_create "$K" 1s "127.0.0.1:$RP:6379" -- --sleep 1s -- $(s_box_conf_redis)
s_box_create "$N" 1s "127.0.0.1:$NP:53/udp" -- --sleep 1s -- $(s_box_conf_dnsmasq)
declare -A ADDR
for a in $W $K $N; do ADDR[$a]=$(s_field "$a" 'a["address"]'); done

rcli() { timeout 20 redis-cli -h 127.0.0.1 -p "$RP" "$@"; }
q() { timeout 20 dig @127.0.0.1 -p "$NP" +time=10 +tries=1 +short "$@"; }
getc() {   # getc PAGE: the page, then the connect time (s) on its own line
	curl -sS --fail --max-time 20 -w '\n%{time_connect}\n' "http://127.0.0.1:$WP/$1"
}
# stopped WHAT: the daemon (signalled) is gone within 30 s
stopped() {
	local i
	for i in $(seq 600); do kill -0 "$S_PID" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$S_PID" 2>/dev/null && s_fail "the daemon did not stop ($1)"
	d_log "$1"
}
veth() { echo "pc$(printf '%02x' ${1//./ })"; }
queue() { cat "$S_DIR/hold.queue"; }
held_set() { nft list set ip picocenter_hold "hold_$(queue)"; }

# all_asleep: each app asleep, its box taken down and its address held
all_asleep() {
	local a
	for a in $W $K $N; do
		s_wait_state "$a" asleep 30
		ip link show "$(veth "${ADDR[$a]}")" >/dev/null 2>&1 && s_fail "$a asleep but its veth is there"
		held_set | grep -qw "${ADDR[$a]}" || s_fail "$a asleep but ${ADDR[$a]} is not held: $(held_set)"
	done
	# the daemon's holder stops within a second once no app needs it
	for i in $(seq 30); do
		[ -z "$(s_our_pids | xargs -r ps -o args= -p | grep 'cr hold')" ] && break
		sleep 0.1
	done
	[ -z "$(s_our_pids | xargs -r ps -o args= -p | grep 'cr hold')" ] ||
		s_fail "a holder still runs with every app asleep"
}

# revive_all CYCLE: each client revives its app; data of cycles 1..CYCLE
revive_all() {
	local c=$1 i out t0
	t0=$(now_ms)
	out=$(getc "p$c.txt") || s_fail "curl of p$c.txt (cycle $c) failed"
	[ "$(echo "$out" | head -n 1)" = "page $c" ] || s_fail "web answered '$out' (cycle $c)"
	awk -v t="$(echo "$out" | tail -n 1)" 'BEGIN { exit !(t < 1.0) }' ||
		s_fail "web: connect took $(echo "$out" | tail -n 1) s: its SYN was retransmitted, not held"
	d_expect "redis GET key1..$c (cycle $c)" "$(seq -f 'value%g' 1 "$c")" \
		rcli MGET $(seq -f 'key%g' 1 "$c")
	[ "$(q www.pico.test)" = 10.0.0.1 ] || s_fail "dig (one try) got no answer (cycle $c)"
	for a in $W $K $N; do
		[ "$(s_field "$a" "a['last_swap_in']['at'] >= $t0 and a['last_swap_in']['trigger']")" = traffic ] ||
			s_fail "$a was not revived by traffic: $(s_field "$a" 'a["last_swap_in"]')"
		[ "$(s_field "$a" 'a["address"]')" = "${ADDR[$a]}" ] || s_fail "$a changed its address"
	done
	d_log "cycle $c: revived from asleep: web in $(s_field $W 'a["last_swap_in"]["ms"]') ms" \
		"(connect $(echo "$out" | tail -n 1) s), kv in $(s_field $K 'a["last_swap_in"]["ms"]') ms," \
		"dns in $(s_field $N 'a["last_swap_in"]["ms"]') ms"
}

for c in $(seq "$CYCLES"); do
	d_expect "redis SET" OK rcli SET "key$c" "value$c"
	echo "page $c" >"$D_DIR/www/p$c.txt"
	all_asleep
	revive_all "$c"
done

# a daemon restart with every app asleep
all_asleep
Q=$(queue)
kill -KILL "$S_PID"
stopped "daemon killed with the three asleep (queue $Q)"
s_start
[ "$(queue)" = "$Q" ] || s_fail "the restarted daemon reads queue $(queue), not $Q"
for a in $W $K $N; do [ "$(s_state "$a")" = asleep ] || s_fail "$a is $(s_state "$a") after the restart"; done
grep -q "app $K: found asleep" "$S_LOG" || s_fail "no 'found asleep' line"
revive_all "$CYCLES"

# memory pressure (MemAvailable under PICOCENTER_PRESSURE_PCT of MemTotal,
# here 100 %) puts a napping app to sleep before its 10 min sleep time
P=pr-$$
s_box_create "$P" 1s "127.0.0.1:$PP:80" -- --sleep 10m -- $(s_box_conf_lighttpd)
s_wait_state "$P" napping 30
kill -TERM "$S_PID"
stopped "daemon stopped"
PICOCENTER_PRESSURE_PCT=100 s_start
s_wait_state "$P" asleep 30
grep -q "app $P: asleep after .* (pressure)" "$S_LOG" || s_fail "no 'asleep ... (pressure)' line for $P"
out=$(curl -sS --fail --max-time 20 "http://127.0.0.1:$PP/p1.txt") || s_fail "$P: curl failed"
[ "$out" = "page 1" ] || s_fail "$P answered '$out'"
ADDR[$P]=$(s_field "$P" 'a["address"]')
d_log "pressure: $P fell asleep at once and was revived by curl"

for a in $W $K $N $P; do
	s_app rm "$a" >/dev/null || s_fail "app rm $a"
	s_box_leftovers "$a" "${ADDR[$a]}"
	held_set | grep -qw "${ADDR[$a]}" && s_fail "app rm left ${ADDR[$a]} held"
done
kill -TERM "$S_PID"
stopped "daemon stopped with no app asleep"
nft list chain ip picocenter_hold "hold_$Q" >/dev/null 2>&1 &&
	s_fail "the daemon stopped with no app asleep but left chain hold_$Q"
[ -e "$S_DIR/hold.queue" ] && s_fail "hold.queue left with no app asleep"
S_PID=
d_log "PASS ($CYCLES cycles of 3 apps through asleep, and a restart)"

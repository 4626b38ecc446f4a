#!/bin/bash
# t-cycles.sh - lighttpd, redis-server and dnsmasq deployed as apps with a
# 1 s idle time.  Five times: each swaps out on its own (idle), then its
# own client (curl, redis-cli, dig) reaches it, which revives it (trigger
# "traffic") and gets the right answer, with the data of every earlier
# cycle intact (redis keys, lighttpd files, dnsmasq's host names).  The
# swap counter, the last swap's trigger and /metrics follow.
d=$(dirname "$0"); . "$d/lib.sh"
d_need lighttpd redis-server redis-cli dnsmasq dig curl python3
s_init cycles
s_ports 3; WP=${S_PORTS[0]} RP=${S_PORTS[1]} NP=${S_PORTS[2]}
CYCLES=${S_CYCLES:-5}

s_create web 1s "$WP" $(d_conf_lighttpd "$WP")
s_create kv 1s "$RP" $(d_conf_redis "$RP")
s_create dns 1s "$NP" $(d_conf_dnsmasq "$NP")

rcli() { timeout 20 redis-cli -h 127.0.0.1 -p "$RP" "$@"; }
q() { timeout 20 dig @127.0.0.1 -p "$NP" +time=5 +tries=2 +short "$@"; }
get() { curl -sS --fail --max-time 20 "http://127.0.0.1:$WP/$1"; }

for c in $(seq "$CYCLES"); do
	# new data this cycle, while running
	d_expect "redis SET" OK rcli SET "key$c" "value$c"
	echo "page $c" >"$D_DIR/www/p$c.txt"
	echo "10.0.1.$c host$c.pico.test" >>"$D_DIR/hosts"
	for a in web kv dns; do s_wait_state "$a" napping 30; done
	[ "$(s_field kv 'a["swaps"]')" -ge "$c" ] || s_fail "kv has $(s_field kv 'a["swaps"]') swaps after cycle $c"
	t0=$(now_ms)
	[ "$(s_field web 'a["last_swap_out"]["trigger"]')" = idle ] || s_fail "web swapped out but not for idleness"

	# each client revives its app and gets every cycle's data
	for i in $(seq "$c"); do
		d_expect "redis GET key$i (cycle $c)" "value$i" rcli GET "key$i"
		d_expect "page $i (cycle $c)" "page $i" get "p$i.txt"
	done
	d_expect "dns www (cycle $c)" 10.0.0.1 q www.pico.test
	# (with 1 s of idle time it may be napping again already)
	for a in web kv dns; do
		[ "$(s_field "$a" "a['last_swap_in']['at'] >= $t0 and a['last_swap_in']['trigger']")" = traffic ] ||
			s_fail "$a was not revived by traffic: $(s_field "$a" 'a["last_swap_in"]')"
	done
	d_log "cycle $c: web in $(s_field web 'a["last_swap_in"]["ms"]') ms," \
		"kv in $(s_field kv 'a["last_swap_in"]["ms"]') ms, dns in $(s_field dns 'a["last_swap_in"]["ms"]') ms"
done

m=$(curl -s --unix-socket "$S_DIR/api.sock" http://localhost/metrics)
n=$(echo "$m" | awk '$1 == "picocenter_swap_in_seconds_count" { print $2 }')
[ "${n:-0}" -ge $((3 * CYCLES)) ] || s_fail "metrics count $n swap-ins, expected >= $((3 * CYCLES))"
echo "$m" | grep -q '^picocenter_store_written_bytes_total [1-9]' || s_fail "no store bytes in /metrics"
grep -q 'app kv: swapped in in .* (trigger traffic)' "$S_LOG" || s_fail "no swap-in line in the log"
for a in web kv dns; do s_app rm "$a" >/dev/null || s_fail "app rm $a"; done
[ -z "$(ls "$S_DIR/apps")" ] || s_fail "app rm left $(ls "$S_DIR/apps")"
d_log "PASS ($CYCLES cycles of 3 apps)"

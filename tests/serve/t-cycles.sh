#!/bin/bash
# t-cycles.sh - lighttpd, redis-server and dnsmasq deployed as apps, each
# in its own box (the default runtime) with a 1 s idle time, their ports
# published on 127.0.0.1 (dnsmasq's for UDP and TCP).  Five times: each
# swaps out on its own (idle: no packet on its interface) and naps, its
# box kept; then its own client (curl, redis-cli, dig) reaches it through
# the published port, which revives it (trigger "traffic") into the same
# box and gets the right answer, with the data of every earlier cycle
# intact (redis keys, lighttpd files, dnsmasq's host names).  The box's
# address, the swap counter, the last swap's trigger and /metrics follow;
# app rm removes the boxes.
d=$(dirname "$0"); . "$d/lib.sh"
d_need lighttpd redis-server redis-cli dnsmasq dig curl python3
s_init cycles
s_ports 3; WP=${S_PORTS[0]} RP=${S_PORTS[1]} NP=${S_PORTS[2]}
CYCLES=${S_CYCLES:-5}

W=web-$$ K=kv-$$ N=dns-$$
s_box_create "$W" 1s "127.0.0.1:$WP:80" -- $(s_box_conf_lighttpd)
s_box_create "$K" 1s "127.0.0.1:$RP:6379" -- $(s_box_conf_redis)
s_box_create "$N" 1s "127.0.0.1:$NP:53/udp" "127.0.0.1:$NP:53/tcp" -- $(s_box_conf_dnsmasq)
declare -A ADDR IDX
for a in $W $K $N; do
	ADDR[$a]=$(s_field "$a" 'a["address"]')
	IDX[$a]=$(s_ifindex "${ADDR[$a]}")
	[ -n "${IDX[$a]}" ] || s_fail "$a has no veth $(s_veth "${ADDR[$a]}")"
	case ${ADDR[$a]} in "$S_NET".*) ;; *) s_fail "$a has address '${ADDR[$a]}', not one of $S_NET.0/24" ;; esac
	[ "$(s_field "$a" 'a["runtime"]')" = box ] || s_fail "$a is not boxed"
done
[ "$(s_field "$N" '",".join(a["ports"])')" = "127.0.0.1:$NP:53/udp,127.0.0.1:$NP:53/tcp" ] ||
	s_fail "dns ports: $(s_field "$N" 'a["ports"]')"
NETNS=$(readlink "/proc/$(s_field "$K" 'a["pid"]')/ns/net")

rcli() { timeout 20 redis-cli -h 127.0.0.1 -p "$RP" "$@"; }
q() { timeout 20 dig @127.0.0.1 -p "$NP" +time=5 +tries=2 +short "$@"; }
get() { curl -sS --fail --max-time 20 "http://127.0.0.1:$WP/$1"; }

for c in $(seq "$CYCLES"); do
	# new data this cycle, while running
	d_expect "redis SET" OK rcli SET "key$c" "value$c"
	echo "page $c" >"$D_DIR/www/p$c.txt"
	echo "10.0.1.$c host$c.pico.test" >>"$D_DIR/hosts"
	for a in $W $K $N; do s_wait_state "$a" napping 30; done
	[ "$(s_field $K 'a["swaps"]')" -ge "$c" ] || s_fail "kv has $(s_field $K 'a["swaps"]') swaps after cycle $c"
	t0=$(now_ms)
	[ "$(s_field $W 'a["last_swap_out"]["trigger"]')" = idle ] || s_fail "web swapped out but not for idleness"
	[ -d "$S_DIR/boxes/$K/ns" ] && [ "$(s_ifindex "${ADDR[$K]}")" = "${IDX[$K]}" ] ||
		s_fail "kv's box (namespaces, veth) is not kept while it naps"

	# each client revives its app and gets every cycle's data
	for i in $(seq "$c"); do
		d_expect "redis GET key$i (cycle $c)" "value$i" rcli GET "key$i"
		d_expect "page $i (cycle $c)" "page $i" get "p$i.txt"
	done
	d_expect "dns www (cycle $c)" 10.0.0.1 q www.pico.test
	# (with 1 s of idle time it may be napping again already)
	for a in $W $K $N; do
		[ "$(s_field "$a" "a['last_swap_in']['at'] >= $t0 and a['last_swap_in']['trigger']")" = traffic ] ||
			s_fail "$a was not revived by traffic: $(s_field "$a" 'a["last_swap_in"]')"
		[ "$(s_field "$a" 'a["address"]')" = "${ADDR[$a]}" ] || s_fail "$a changed its address"
	done
	# (it may be gone again already: 1 s idle)
	ns=$(readlink "/proc/$(s_field "$K" 'a.get("pid", 0)')/ns/net")
	[ -z "$ns" ] || [ "$ns" = "$NETNS" ] || s_fail "kv was restored into another network namespace"
	d_log "cycle $c: web in $(s_field $W 'a["last_swap_in"]["ms"]') ms," \
		"kv in $(s_field $K 'a["last_swap_in"]["ms"]') ms, dns in $(s_field $N 'a["last_swap_in"]["ms"]') ms"
done

m=$(curl -s --unix-socket "$S_DIR/api.sock" http://localhost/metrics)
n=$(echo "$m" | awk '$1 == "picocenter_swap_in_seconds_count" { print $2 }')
[ "${n:-0}" -ge $((3 * CYCLES)) ] || s_fail "metrics count $n swap-ins, expected >= $((3 * CYCLES))"
echo "$m" | grep -q '^picocenter_store_written_bytes_total [1-9]' || s_fail "no store bytes in /metrics"
# The daemon revives from the local copy of the generation it stored:
# its bytes are counted apart from the store's.
echo "$m" | grep -q '^picocenter_local_copy_read_bytes_total [1-9]' ||
	s_fail "no local copy bytes in /metrics: $(echo "$m" | grep local_copy)"
echo "$m" | grep -q '^picocenter_local_copy_used_total [1-9]' || s_fail "no local copy used in /metrics"
grep -q "app $K: swapped in in .* (trigger traffic)" "$S_LOG" || s_fail "no swap-in line in the log"
for a in $W $K $N; do
	s_app rm "$a" >/dev/null || s_fail "app rm $a"
	s_box_leftovers "$a" "${ADDR[$a]}" "${IDX[$a]}"
done
[ -z "$(ls "$S_DIR/apps")" ] || s_fail "app rm left $(ls "$S_DIR/apps")"
curl -s --max-time 2 "http://127.0.0.1:$WP/" >/dev/null && s_fail "port $WP still answers after app rm"
d_log "PASS ($CYCLES cycles of 3 apps)"

#!/bin/bash
# t-many.sh - 50 apps (lighttpd, each its own config and port) are
# deployed at once with a 2 s idle time, with 3 boxed ones; all swap out
# on their own, many at the same moment (the engine runs for each in its
# own engine child).  One holder process keeps the sockets of all 53
# (from 4 network namespaces); a plain and a boxed app are woken by their
# own clients while the 51 others stay napping; the holder is killed and
# a new one takes the daemon's copies of the sockets; then each plain app is
# reached once by curl, the first 20 at the same moment.  Every answer
# must be right and every app revived by its traffic.  Once every app is
# removed the holder stops.
d=$(dirname "$0"); . "$d/lib.sh"
d_need lighttpd curl
s_init many
N=${S_APPS:-50}
NB=3
AT_ONCE=20
s_ports $((N + NB))
d_www

# holders: the pids of the custody holders of this daemon
holders() {
	local p
	for p in $(s_our_pids); do
		tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q '^picocenter cr hold ' && echo "$p"
	done
}
# napping_but W1 W2: every app but W1 and W2 napping
napping_but() {
	local bad
	bad=$(s_app ls | awk -v a="$1" -v b="$2" 'NR > 1 && $1 != a && $1 != b && $2 != "napping"')
	[ -z "$bad" ] || s_fail "apps not napping after waking $1 and $2: $(echo "$bad" | head -5)"
}

bcmd=$(s_box_conf_lighttpd)     # one config, written once
for j in $(seq "$NB"); do
	s_box_create "b$j-$$" 2s "127.0.0.1:${S_PORTS[$((N + j - 1))]}:80" -- $bcmd &
	D_BG_PIDS+=($!)
done

for i in $(seq "$N"); do
	s_app create "m$i" --runtime plain --port "${S_PORTS[$((i - 1))]}" --idle 2s -- \
		$(s_conf_lighttpd "$i" "${S_PORTS[$((i - 1))]}") >"$D_DIR/create.$i" 2>&1 &
	D_BG_PIDS+=($!)
done
wait
for i in $(seq "$N"); do
	grep -q "running" "$D_DIR/create.$i" || s_fail "create m$i: $(cat "$D_DIR/create.$i")"
done
for j in $(seq "$NB"); do [ -n "$(s_state "b$j-$$")" ] || s_fail "create b$j-$$ failed"; done
d_log "$((N + NB)) apps created"
end=$((SECONDS + 90))
while :; do
	n=$(s_app ls | awk '$2 == "napping"' | wc -l)
	[ "$n" = $((N + NB)) ] && break
	[ $SECONDS -ge $end ] && s_fail "only $n of $((N + NB)) apps napping after 90 s: $(s_app ls | awk '$2 != "napping"' | head -5)"
	sleep 0.5
done
d_log "all $((N + NB)) napping"
h=$(holders)
[ "$(echo "$h" | grep -c .)" = 1 ] || s_fail "$(echo "$h" | grep -c .) holder processes for $((N + NB)) napping apps, not 1"
socks=$(ls -l "/proc/$h/fd" | grep -c 'socket:')
[ "$socks" -gt $((N + NB)) ] || s_fail "the holder has $socks sockets open for $((N + NB)) napping apps"
d_log "one holder (pid $h) keeps $socks sockets of $((N + NB)) napping apps"

# each wakes on its own traffic: the last plain app and the second boxed one
WB=b2-$$ WM=m$N
d_expect "$WM answers" "hello from picocenter" curl -s --max-time 30 "http://127.0.0.1:${S_PORTS[$((N - 1))]}/"
d_expect "$WB answers" "hello from picocenter" curl -s --max-time 30 "http://127.0.0.1:${S_PORTS[$((N + 1))]}/"
for a in "$WM" "$WB"; do
	[ "$(s_state "$a")" = running ] || s_fail "$a is $(s_state "$a") after its client reached it"
	[ "$(s_field "$a" 'a["last_swap_in"]["trigger"]')" = traffic ] || s_fail "$a not revived by traffic"
done
napping_but "$WM" "$WB"
[ "$(holders)" = "$h" ] || s_fail "the holder changed: '$(holders)', was $h"
d_log "$WM and $WB woken by their clients, the $((N + NB - 2)) others still napping"

# the holder dies: the daemon's own copies of the sockets go to a new one
kill -KILL "$h"
for i in $(seq 50); do
	h2=$(holders)
	[ -n "$h2" ] && [ "$h2" != "$h" ] && grep -q "app b1-$$: its sockets went to the new holder" "$S_LOG" && break
	sleep 0.1
done
[ -n "$h2" ] && [ "$h2" != "$h" ] || s_fail "no new holder after the old one was killed"
grep -q "app b1-$$: its sockets went to the new holder" "$S_LOG" || s_fail "b1-$$'s sockets did not go to the new holder"
napping_but "$WM" "$WB"
d_expect "b1-$$ answers after the holder died" "hello from picocenter" \
	curl -s --max-time 30 "http://127.0.0.1:${S_PORTS[$N]}/"
d_log "holder $h killed: holder $h2 took the sockets of the $((N + NB - 2)) napping apps"

t0=$(now_ms)
for i in $(seq "$AT_ONCE"); do
	curl -s --max-time 30 "http://127.0.0.1:${S_PORTS[$((i - 1))]}/" >"$D_DIR/get.$i" 2>&1 &
done
wait
t1=$(now_ms)
for i in $(seq $((AT_ONCE + 1)) "$N"); do
	curl -s --max-time 30 "http://127.0.0.1:${S_PORTS[$((i - 1))]}/" >"$D_DIR/get.$i" 2>&1
done
for i in $(seq "$N"); do
	[ "$(cat "$D_DIR/get.$i")" = "hello from picocenter" ] || s_fail "m$i answered '$(cat "$D_DIR/get.$i")'"
	[ "$(s_field "m$i" 'a["last_swap_in"]["trigger"]')" = traffic ] || s_fail "m$i not revived by traffic"
done
ms=$(for i in $(seq "$AT_ONCE"); do s_field "m$i" 'a["last_swap_in"]["ms"]'; done | sort -n | tr '\n' ' ')
d_log "$AT_ONCE revived at once, all answered in $((t1 - t0)) ms; their swap-ins (ms): $ms"
for i in $(seq "$N"); do s_app rm "m$i" >/dev/null & done
for j in $(seq "$NB"); do s_app rm "b$j-$$" >/dev/null & done
wait
[ -z "$(ls "$S_DIR/apps")" ] || s_fail "apps left after rm: $(ls "$S_DIR/apps" | head)"
for i in $(seq 50); do [ -z "$(holders)" ] && break; sleep 0.1; done
[ -z "$(holders)" ] || s_fail "the holder still runs with no app left"
d_log PASS

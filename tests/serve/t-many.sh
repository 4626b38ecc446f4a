#!/bin/bash
# t-many.sh - 50 apps (lighttpd, each its own config and port) are
# deployed at once with a 2 s idle time; all swap out on their own, many
# at the same moment (the engine runs for each in its own engine child);
# then each is reached once by curl, the first 20 at the same moment.
# Every answer must be right and every app revived by its traffic.
d=$(dirname "$0"); . "$d/lib.sh"
d_need lighttpd curl
s_init many
N=${S_APPS:-50}
AT_ONCE=20
s_ports "$N"
d_www

for i in $(seq "$N"); do
	s_app create "m$i" --runtime plain --port "${S_PORTS[$((i - 1))]}" --idle 2s -- \
		$(s_conf_lighttpd "$i" "${S_PORTS[$((i - 1))]}") >"$D_DIR/create.$i" 2>&1 &
	D_BG_PIDS+=($!)
done
wait
for i in $(seq "$N"); do
	grep -q "running" "$D_DIR/create.$i" || s_fail "create m$i: $(cat "$D_DIR/create.$i")"
done
d_log "$N apps created"
end=$((SECONDS + 90))
while :; do
	n=$(s_app ls | awk '$2 == "napping"' | wc -l)
	[ "$n" = "$N" ] && break
	[ $SECONDS -ge $end ] && s_fail "only $n of $N apps napping after 90 s: $(s_app ls | awk '$2 != "napping"' | head -5)"
	sleep 0.5
done
d_log "all $N napping"

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
wait
[ -z "$(ls "$S_DIR/apps")" ] || s_fail "apps left after rm: $(ls "$S_DIR/apps" | head)"
d_log PASS

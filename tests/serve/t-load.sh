#!/bin/bash
# t-load.sh - 20 clients send requests in a loop (curl, a new connection
# each) to lighttpd deployed as an app, while `app swap-out` and `app
# swap-in` swap it 10 times.  Every request must get its page: a
# connection made while the app is napping waits in the held listener and
# revives it, a connection open across a swap stays with the holder.
d=$(dirname "$0"); . "$d/lib.sh"
d_need lighttpd curl
s_init load
PORT=$(d_port)
CLIENTS=${S_CLIENTS:-20}
s_create web 10m "$PORT" $(d_conf_lighttpd "$PORT")

client() {
	local ok=0 bad=0 out
	while [ ! -e "$D_DIR/stop" ]; do
		out=$(curl -s --max-time 20 "http://127.0.0.1:$PORT/index.html" 2>&1)
		if [ "$out" = "hello from picocenter" ]; then
			ok=$((ok + 1))
		else
			bad=$((bad + 1))
			echo "$(date +%T.%3N) client $1 got '$out'" >>"$D_DIR/failed.$1"
		fi
	done
	echo "$ok $bad" >"$D_DIR/load.$1.tmp" && mv "$D_DIR/load.$1.tmp" "$D_DIR/load.$1"
}
for i in $(seq "$CLIENTS"); do
	client "$i" &
	D_BG_PIDS+=($!)
done
sleep 0.5

for c in $(seq 10); do
	s_app swap-out web >"$D_DIR/out" 2>&1 || s_fail "swap-out $c under load: $(cat "$D_DIR/out")"
	sleep 0.1    # clients queue in the held listener (or revive it first)
	s_app swap-in web >"$D_DIR/out" 2>&1 || s_fail "swap-in $c under load: $(cat "$D_DIR/out")"
	d_log "swap $c: $(s_field web '"out %s ms, in %s ms (%s)" % (a["last_swap_out"]["ms"], a["last_swap_in"]["ms"], a["last_swap_in"]["trigger"])')"
	sleep 0.2
done
touch "$D_DIR/stop"
ok=0 bad=0
for i in $(seq "$CLIENTS"); do
	for _ in $(seq 3000); do [ -e "$D_DIR/load.$i" ] && break; sleep 0.01; done
	read -r o b <"$D_DIR/load.$i" || s_fail "client $i did not finish"
	ok=$((ok + o)) bad=$((bad + b))
done
d_log "$ok requests answered, $bad failed over 10 swaps with $CLIENTS clients"
cat "$D_DIR"/failed.* 2>/dev/null | head -n 5
[ "$(s_field web 'a["swaps"]')" -ge 10 ] || s_fail "only $(s_field web 'a["swaps"]') swaps"
[ "$ok" -ge 200 ] || s_fail "only $ok requests answered"
[ "$bad" = 0 ] || s_fail "$bad of $((ok + bad)) requests failed"
s_app rm web >/dev/null
d_log PASS

#!/bin/bash
# t-load.sh - lighttpd swapped out and in 10 times while two clients send
# requests without pause, each on a new connection, with listener custody
# (`cr hold`).  Every dump must succeed although connections are always
# opening and closing (one caught opening makes the dump retry; closing
# ones are carried), and no request may fail: a connection made while the app is down
# waits in the held listener, and an established one stays in the holder
# under the network lock (its packets are dropped and sent again, never
# reset).  The count is printed.
d=$(dirname "$0"); [ -f "$d/lib.sh" ] || d=$d/..; . "$d/lib.sh"
d_need lighttpd curl
d_init load
PORT=$(d_port)
d_spawn $(d_conf_lighttpd "$PORT")
get() { curl -sS --fail --max-time 5 "http://127.0.0.1:$PORT/$1"; }
d_wait "lighttpd" get index.html
HOLD=$D_DIR/hold.sock
"$PICOCENTER" cr hold "$HOLD" >"$D_DIR/hold.log" 2>&1 &
D_BG_PIDS+=($!)
for _ in $(seq 200); do [ -S "$HOLD" ] && break; sleep 0.01; done
[ -S "$HOLD" ] || d_fail "cr hold did not start: $(cat "$D_DIR/hold.log")"

# client N: requests until $D_DIR/stop exists; "OK FAILED" into load.N.
client() {
	local ok=0 bad=0 out
	while [ ! -e "$D_DIR/stop" ]; do
		out=$(curl -s --max-time 10 "http://127.0.0.1:$PORT/index.html" 2>&1)
		if [ "$out" = "hello from picocenter" ]; then
			ok=$((ok + 1))
		else
			bad=$((bad + 1))
			echo "$(date +%T.%3N) got '$out'" >>"$D_DIR/failed.$1"
		fi
	done
	# written whole, then renamed: the waiting test never reads it half-made
	echo "$ok $bad" >"$D_DIR/load.$1.tmp" && mv "$D_DIR/load.$1.tmp" "$D_DIR/load.$1"
}
client 1 &
D_BG_PIDS+=($!)
client 2 &
D_BG_PIDS+=($!)
sleep 0.3

for c in $(seq 10); do
	[ "$CR_NOCR" = 1 ] && { sleep 0.2; continue; }
	"$PICOCENTER" cr dump --pid "$D_PID" --dir "$D_DIR/img.$c" --keep-listeners "$HOLD" \
		2>"$D_DIR/dump.err" || d_fail "dump $c under load: $(cat "$D_DIR/dump.err")"
	sleep 0.05   # down for a while: connections queue in the holder
	D_PID=$("$PICOCENTER" cr restore --dir "$D_DIR/img.$c" --listeners "$HOLD" \
		2>"$D_DIR/restore.err") || d_fail "restore $c: $(cat "$D_DIR/restore.err")"
	D_ALL_PIDS+=("$D_PID")
	rm -rf "$D_DIR/img.$c"
	sleep 0.2
done
touch "$D_DIR/stop"
for _ in $(seq 1000); do [ -e "$D_DIR/load.1" ] && [ -e "$D_DIR/load.2" ] && break; sleep 0.01; done
read -r ok1 bad1 <"$D_DIR/load.1" || d_fail "client 1 did not finish"
read -r ok2 bad2 <"$D_DIR/load.2" || d_fail "client 2 did not finish"
ok=$((ok1 + ok2)) bad=$((bad1 + bad2))
d_log "$ok requests answered, $bad failed over 10 swaps"
cat "$D_DIR"/failed.* 2>/dev/null | head -n 5
[ "$ok" -ge 100 ] || d_fail "only $ok requests answered"
[ "$bad" = 0 ] || d_fail "$bad of $((ok + bad)) requests failed"
d_finish

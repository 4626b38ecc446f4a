#!/bin/bash
# t-idle.sh - the idle policy (docs/serve.md): an app with a 2 s idle time
# that gets a request every 0.4 s on a kept-alive connection (bytes move,
# almost no CPU) and one that burns CPU without any traffic both stay
# running for 10 s; once the traffic stops, the first is swapped out within
# its idle time plus two samples, with trigger "idle".  A burner whose
# --idle-cpu is above what it burns (100 CPUs) is idle, and swapped out.
d=$(dirname "$0"); . "$d/lib.sh"
d_need redis-server redis-cli python3
s_init idle
s_ports 2
RP=${S_PORTS[0]} CP=${S_PORTS[1]}
s_create kv 2s "$RP" $(d_conf_redis "$RP")
# a CPU burner that listens on a port (so that create knows it is up);
# D_DIR on its command line lets the cleanup find it if the test dies
s_app create burn --runtime plain --port "$CP" --idle 2s -- python3 -c "
import socket
s = socket.socket(); s.bind(('127.0.0.1', $CP)); s.listen()
while True:
    sum(range(100000))
" "$D_DIR" >/dev/null || s_fail "create burn"
s_ports 1; LP=${S_PORTS[0]}
s_app create lax --runtime plain --port "$LP" --idle 2s --idle-cpu 10000% -- python3 -c "
import socket
s = socket.socket(); s.bind(('127.0.0.1', $LP)); s.listen()
while True:
    sum(range(100000))
" "$D_DIR" >/dev/null || s_fail "create lax"
[ "$(s_field lax 'a["idle_cpu"]')" = 10000.0 ] || s_fail "lax's idle_cpu is $(s_field lax 'a.get("idle_cpu")')"

# one connection, a PING every 0.4 s for 10 s
python3 - "$RP" >"$D_DIR/pings" 2>&1 <<'PY' &
import socket, sys, time
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for i in range(25):
    c.sendall(b"PING\r\n")
    assert c.recv(64) == b"+PONG\r\n"
    time.sleep(0.4)
print("ok")
PY
pinger=$!
D_BG_PIDS+=($pinger)
# states of both apps, one `app ls`
states() { s_app ls | awk '$1 == "kv" { k = $2 } $1 == "burn" { b = $2 } END { print k, b }'; }
checks=0
while kill -0 "$pinger" 2>/dev/null; do
	st=$(states)
	kill -0 "$pinger" 2>/dev/null || break
	[ "$st" = "running running" ] || s_fail "kv and burn are '$st' while one gets traffic, one uses CPU"
	checks=$((checks + 1))
	sleep 0.3
done
wait "$pinger"
[ "$checks" -ge 3 ] || s_fail "only $checks checks while the traffic lasted"
[ "$(cat "$D_DIR/pings")" = ok ] || s_fail "the pinger failed: $(cat "$D_DIR/pings")"
[ "$(s_field kv 'a["swaps"]')" = 0 ] || s_fail "kv swapped while it got traffic"
t0=$(now_ms)
s_wait_state kv napping 10
dt=$(($(now_ms) - t0))
[ "$dt" -le 6000 ] || s_fail "kv swapped out $dt ms after its traffic stopped (idle 2 s)"
[ "$(s_field kv 'a["last_swap_out"]["trigger"]')" = idle ] || s_fail "kv's swap-out was not for idleness"
[ "$(s_state burn)" = running ] || s_fail "burn is $(s_state burn)"
s_wait_state lax napping 10
[ "$(s_field lax 'a["last_swap_out"]["trigger"]')" = idle ] || s_fail "lax's swap-out was not for idleness"
d_log "kv swapped out $dt ms after its last request; burn still running"
s_app rm kv >/dev/null
s_app rm burn >/dev/null
s_app rm lax >/dev/null
d_log PASS

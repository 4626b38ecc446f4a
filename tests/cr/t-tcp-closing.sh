#!/bin/bash
# t-tcp-closing.sh - TCP connections in closing states are dumped and
# restored, 2 cycles: a client that sent data and shut its side (the app's
# end in CLOSE_WAIT, the data unread), a client whose app shut its own
# side (FIN_WAIT2) and sends more afterwards, and a connection inside the
# tree between the two states (FIN_WAIT2 <-> CLOSE_WAIT).  After the
# restores the app reads the data then the end of stream, answers on the
# half-closed connections, and the clients get the answers and the ends.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inet_lib.sh"
cr_workdir tcp-closing
port=$(inet_port)

cat >"$CR_W/app.py" <<'PY'
import os, socket, sys, time
port, w = int(sys.argv[1]), sys.argv[2]
def st(s): return s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port)); l.listen(8)
print("READY", flush=True)
c1, _ = l.accept()
c2, _ = l.accept()
x = socket.create_connection(("127.0.0.1", port)); y, _ = l.accept()
c2.shutdown(socket.SHUT_WR)
x.shutdown(socket.SHUT_WR)
end = time.time() + 5
while time.time() < end and (st(c1), st(c2), st(x), st(y)) != (8, 5, 5, 8):
    time.sleep(0.01)
print("STATES %d %d %d %d" % (st(c1), st(c2), st(x), st(y)), flush=True)
while not os.path.exists(w + "/go"):
    time.sleep(0.01)
got = [c1.recv(100), c1.recv(100)]
c1.sendall(b"reply"); c1.close()
got += [c2.recv(100), c2.recv(100)]
got += [y.recv(100)]
y.sendall(b"back")
got += [x.recv(100)]
ok = got == [b"data", b"", b"late", b"", b"", b"back"]
print("RESULT %s %r" % (ok, got), flush=True)
time.sleep(100000)
PY
cat >"$CR_W/client.py" <<'PY'
import os, socket, sys, time
port, w = int(sys.argv[1]), sys.argv[2]
a = socket.create_connection(("127.0.0.1", port))
b = socket.create_connection(("127.0.0.1", port))
a.sendall(b"data"); a.shutdown(socket.SHUT_WR)
# the app acks the FIN late (a delayed ACK, data unread): a FIN still
# unacked at the dump comes again while the app is down and gets a reset
end = time.time() + 5
while time.time() < end and a.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] != 5:
    time.sleep(0.01)
print("ACKED", flush=True)
while not os.path.exists(w + "/go"):
    time.sleep(0.01)
a.settimeout(20); b.settimeout(20)
b.sendall(b"late"); b.shutdown(socket.SHUT_WR)
got = [a.recv(100), a.recv(100), b.recv(100)]
print("CLIENT %s %r" % (got == [b"reply", b"", b""], got), flush=True)
PY

PID=$("$PICOCENTER" cr spawn --log "$CR_W/log" -- /usr/bin/python3 "$CR_W/app.py" "$port" "$CR_W") ||
	cr_fail "spawn"
CR_ALL_PIDS+=("$PID")
CR_LOG=$CR_W/log CR_PID=$PID
for _ in $(seq 500); do grep -q READY "$CR_W/log" && break; sleep 0.01; done
python3 "$CR_W/client.py" "$port" "$CR_W" >"$CR_W/client.out" 2>&1 &
client=$!
cr_wait_line "STATES 8 5 5 8" 1 || cr_fail "the connections did not reach CLOSE_WAIT/FIN_WAIT2: $(grep STATES "$CR_W/log")"
for _ in $(seq 500); do grep -q ACKED "$CR_W/client.out" && break; sleep 0.01; done
cr_log "connections in CLOSE_WAIT, FIN_WAIT2, FIN_WAIT2 (in the tree) and CLOSE_WAIT (its peer)"
for n in 1 2; do
	cr_dump "$CR_W/img.$n"
	"$PICOCENTER" cr inspect --dir "$CR_W/img.$n" >"$CR_W/inspect.$n" || cr_fail "cr inspect"
	[ "$(grep -c "established.*, FIN sent" "$CR_W/inspect.$n")" = 2 ] &&
		[ "$(grep -c "established.*, receive side shut" "$CR_W/inspect.$n")" = 2 ] ||
		cr_fail "cr inspect does not show 2 connections with our FIN sent and 2 shut by the peer: $(grep tcp "$CR_W/inspect.$n")"
	cr_restore "$CR_W/img.$n"
	cr_log "cycle $n: dumped and restored as pid $CR_PID"
done
touch "$CR_W/go"
for _ in $(seq 1000); do grep -q "^RESULT" "$CR_W/log" && break; sleep 0.01; done
grep -q "^RESULT True" "$CR_W/log" || cr_fail "the app after the restores: $(grep RESULT "$CR_W/log")"
wait "$client" || cr_fail "the client failed: $(cat "$CR_W/client.out")"
grep -q "^CLIENT True" "$CR_W/client.out" || cr_fail "the client got: $(cat "$CR_W/client.out")"
cr_log "app: $(grep RESULT "$CR_W/log")"
cr_log "client: $(cat "$CR_W/client.out")"
cr_finish

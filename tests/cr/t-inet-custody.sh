#!/bin/bash
# t-inet-custody.sh - listener custody: progs/acceptor.c is dumped with
# --keep-listeners into a holder (`cr hold`); while it is down a client
# connects (and a datagram is sent); after a restore with --listeners the
# queued connection and datagram are answered, with no retransmission:
# (answer - connect) - (time the app was down) must be under 1 s.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inet_lib.sh"
port=$(inet_port)
cr_start inet-custody acceptor "$port"
cr_holder
sock=$CR_HOLD
cr_check 0
for n in 1 2 3; do
	# shellcheck disable=SC2086
	cr_dump "$CR_W/img.$n" --keep-listeners "$sock" ${CR_DUMP_ARGS:-}
	down=$(date +%s.%N)
	python3 - "$port" "$CR_W/client.$n" <<'PY' &
import socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
t0 = time.time()
c = socket.create_connection(("127.0.0.1", port), timeout=20)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(20)
u.sendto(b"dgram", ("127.0.0.1", port))
c.sendall(b"tcp\n")
a = c.recv(100)
t1 = time.time()
d = u.recv(100)
ok = a == b"hello tcp\n" and d == b"hello dgram"
open(out, "w").write("%f %f %s %r %r\n" % (t0, t1, "OK" if ok else "BAD", a, d))
PY
	client=$!
	sleep 1
	t_restore=$(date +%s.%N)
	if ! pid=$("$PICOCENTER" cr restore --dir "$CR_W/img.$n" --listeners "$sock" 2>"$CR_W/restore.err"); then
		cat "$CR_W/restore.err"; cr_fail "cr restore --listeners failed"
	fi
	up=$(date +%s.%N)
	CR_PID=$pid; CR_ALL_PIDS+=("$pid")
	wait $client || cr_fail "the client failed"
	read -r t0 t1 verdict _ <"$CR_W/client.$n"
	cr_log "cycle $n: client: $(cat "$CR_W/client.$n")"
	[ "$verdict" = OK ] || cr_fail "wrong answers"
	extra=$(python3 -c "print('%.3f' % (($t1 - $t0) - ($up - $down)))")
	cr_log "cycle $n: connect->answer $(python3 -c "print('%.3f' % ($t1 - $t0))") s, app down $(python3 -c "print('%.3f' % ($up - $down))") s, extra $extra s"
	python3 -c "import sys; sys.exit(0 if $extra < 1.0 else 1)" || cr_fail "answer came $extra s after the restore (retransmission?)"
	cr_check "$n"
done
cat "$CR_W/hold.log"
cr_finish

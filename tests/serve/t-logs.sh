#!/bin/bash
# t-logs.sh - an app's stdout and stderr: `app logs` shows them (with the
# app's --env and --workdir in effect), `app logs --follow` streams what
# comes next, across a swap-out and swap-in, and the kept log is capped
# (two files of 1 MiB) however much the app writes.
d=$(dirname "$0"); . "$d/lib.sh"
d_need python3
s_init logs
s_ports 1
PORT=${S_PORTS[0]}
mkdir -p "$D_DIR/wd"
cat >"$D_DIR/talk.py" <<'PY'
import os, socket, sys
print("env GREETING=%s cwd=%s" % (os.environ.get("GREETING"), os.getcwd()), flush=True)
print("to stderr", file=sys.stderr, flush=True)
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
while True:
    c, _ = s.accept()
    n = int(c.recv(64) or b"0")
    for i in range(n):
        print("line %d %s" % (i, "x" * 100), flush=(i == n - 1))
    c.sendall(b"done\n")
    c.close()
PY
s_app create talk --runtime plain --port "$PORT" --idle 10m --env GREETING=hello --workdir "$D_DIR/wd" -- \
	python3 -u "$D_DIR/talk.py" "$PORT" >/dev/null || s_fail "create"
d_wait "the banner" grep -q "env GREETING=hello cwd=$D_DIR/wd" <(s_app logs talk)
s_app logs talk | grep -q "^to stderr$" || s_fail "stderr is not in the log"

ask() { python3 -c "import socket,sys; c=socket.create_connection(('127.0.0.1', $PORT)); c.sendall(b'$1'); print(c.recv(64).decode().strip())"; }
s_app logs talk --follow >"$D_DIR/follow" 2>&1 &
fpid=$!
D_BG_PIDS+=($fpid)
sleep 0.3
d_expect "3 lines" done ask 3
s_app swap-out talk >/dev/null || s_fail "swap-out"
d_expect "2 more lines after a swap (revives it)" done ask 2
five() { [ "$(grep -c '^line ' "$D_DIR/follow")" = 5 ]; }
d_wait "5 followed lines" five
kill "$fpid"

# 40000 lines of 108 bytes: 4.3 MB written, at most 2 MiB (+ a second's worth) kept
d_expect "40000 lines" done ask 40000
sleep 2.5
size=$(cat "$S_DIR/apps/talk/log" "$S_DIR/apps/talk/log.1" 2>/dev/null | wc -c)
[ "$size" -le $((2 * 1024 * 1024 + 600000)) ] || s_fail "the kept log is $size bytes"
shown=$(s_app logs talk | wc -c)
[ "$shown" -le $((2 * 1024 * 1024 + 600000)) ] || s_fail "app logs printed $shown bytes"
s_app logs talk | tail -n 1 | grep -q "^line 39999 " || s_fail "the newest line is not in app logs"
d_log "log kept: $size bytes, app logs: $shown bytes"
s_app rm talk >/dev/null
d_log PASS

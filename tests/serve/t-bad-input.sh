#!/bin/bash
# t-bad-input.sh - each bad request gets a one-line error, a failing exit
# status, and leaves nothing half-created: an unknown app, a duplicate
# name, a port already taken (by another app or by a host socket), an
# invalid duration, --sleep for an app without a box, a bad port, a missing command, a missing workdir, a
# command that exits at once or does not exist.  The API answers malformed
# JSON, unknown fields and wrong types with 400 and a message.
d=$(dirname "$0"); . "$d/lib.sh"
d_need lighttpd curl python3
s_init badinput
s_ports 2; P1=${S_PORTS[0]} P2=${S_PORTS[1]}

# bad CMD...: must fail with exactly one line on stderr and nothing on stdout.
bad() {
	local out err rc
	out=$("$@" 2>"$D_DIR/err")
	rc=$?
	err=$(cat "$D_DIR/err")
	[ $rc -ne 0 ] || s_fail "succeeded: $*"
	[ -z "$out" ] || s_fail "printed '$out': $*"
	[ "$(echo "$err" | wc -l)" = 1 ] && [ -n "$err" ] || s_fail "not one line of error: '$err' from: $*"
	d_log "ok: ${*:2:3}...: $err"
}

nothing_left() {
	local n
	n=$(s_app ls | tail -n +2 | awk '{print $1}' | tr '\n' ' ')
	[ "$n" = "$1" ] || s_fail "apps now: '$n', expected '$1'"
	n=$(ls "$S_DIR/apps" | tr '\n' ' ')
	[ "$n" = "$1" ] || s_fail "app dirs now: '$n', expected '$1'"
}

s_create web 1m "$P1" $(d_conf_lighttpd "$P1")
nothing_left "web "

bad s_app inspect nosuch
bad s_app rm nosuch
bad s_app swap-out nosuch
bad s_app swap-in nosuch
bad s_app logs nosuch
bad s_app create web --port "$P2" -- sleep 100
bad s_app create other --port "$P1" -- sleep 100
bad s_app create bad/name -- sleep 100
bad s_app create x --idle 5parsecs -- sleep 100
bad s_app create x --idle -1s -- sleep 100
bad s_app create x --sleep '' -- sleep 100
bad s_app create x --sleep 5s -- sleep 100      # no box: it cannot fall asleep
bad s_app create x --port 70000 -- sleep 100
bad s_app create x --port 0 -- sleep 100
bad s_app create x --port "$P2"
bad s_app create x --port "$P2" --
bad s_app create x --workdir /nonexistent/dir -- sleep 100
bad s_app create x --env NOEQUALS -- sleep 100
bad s_app create x -- false
bad s_app create x --port "$P2" -- sh -c 'echo it broke; exit 3'
bad s_app create x -- /nonexistent/program
bad s_app create x --rootfs /nonexistent/rootfs -- sleep 100
bad s_app create x --memory 64M -- sleep 100
nothing_left "web "

# a port a host socket holds
python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1', $P2)); s.listen(); time.sleep(60)" &
D_BG_PIDS+=($!)
d_wait "host listener" d_port_used "$P2"
bad s_app create x --port "$P2" -- sleep 100
nothing_left "web "

# the API itself
api() {
	curl -s -o "$D_DIR/body" -w '%{http_code}' --unix-socket "$S_DIR/api.sock" \
		-X "$1" -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "http://localhost$2"
}
api400() {
	local code
	code=$(api POST /apps "$1")
	[ "$code" = 400 ] || s_fail "POST /apps '$1' answered $code, not 400"
	python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["error"]; assert m; print(m)' \
		"$D_DIR/body" >"$D_DIR/msg" || s_fail "no error message for '$1': $(cat "$D_DIR/body")"
	d_log "ok: 400 for $1: $(cat "$D_DIR/msg")"
}
api400 '{"name": "x", "argv": ["sleep", "1"'
api400 'not json'
api400 ''
api400 '[]'
api400 '{"name": "x", "argv": ["sleep", "1"], "colour": "blue"}'
api400 '{"name": "x", "argv": "sleep 1"}'
api400 '{"name": 7, "argv": ["sleep"]}'
api400 '{"name": "x", "argv": []}'
api400 '{"name": "x", "argv": ["sleep"], "ports": ["80"]}'
api400 '{"name": "x", "argv": ["sleep"], "idle_ms": "1s"}'
api400 '{"name": "x", "argv": ["sleep"], "idle_ms": -5}'
api400 '{"name": "x", "argv": ["sleep"], "env": ["=v"]}'
api400 '{"name": "x", "name": "y", "argv": ["sleep"]}'
api400 '{"argv": ["sleep"]}'
[ "$(api GET /nosuch)" = 404 ] || s_fail "GET /nosuch is not 404"
[ "$(api GET /apps/nosuch)" = 404 ] || s_fail "GET /apps/nosuch is not 404"
[ "$(api PUT /apps/web)" = 405 ] || s_fail "PUT /apps/web is not 405"
nothing_left "web "

# the app that was there all along still serves
d_expect "web" "hello from picocenter" curl -s --max-time 10 "http://127.0.0.1:$P1/"
[ "$(stat -c %a "$S_DIR/api.sock")" = 600 ] || s_fail "api.sock is not mode 0600"
s_app rm web >/dev/null || s_fail "rm web"
nothing_left ""
d_log PASS

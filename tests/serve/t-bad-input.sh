#!/bin/bash
# t-bad-input.sh - each bad request gets a one-line error, a failing exit
# status, and leaves nothing half-created: an unknown app, a duplicate
# name, a port already taken (by another app, plain or boxed, or by a host
# socket), an invalid duration, a bad port, a missing command, a missing
# workdir, a command that exits at once or does not exist; for boxed apps
# also a port open on the box's loopback only, a port out of range, an invalid size or count, a missing or
# relative rootfs or OCI image, a name that is no box name, box flags on a
# plain app, --sleep for a plain app.  Nothing half-created means no app,
# registry row or app dir, and for boxes no box dir, cgroup, mount
# (network namespace, with its veth) or nftables element.  The
# API answers malformed JSON, unknown fields and wrong types with 400 and
# a message.
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

# what a failed box could leave: its dir, cgroup, mounts (its network
# namespace is one: a veth cannot outlive it) and nftables elements.  The
# elements now, to compare: other daemons on this machine may add boxes
# meanwhile, so a new element counts only when no veth has its address.
elements() { nft list table ip picocenter 2>/dev/null | grep -oE "${S_NET//./\\.}\.[0-9]+" | sort -u; }
new_elements() {
	local a
	for a in $(comm -13 "$D_DIR/elements.0" <(elements)); do
		[ "$a" = "$BXADDR" ] || [ -n "$(s_ifindex "$a")" ] || echo "$a"
	done
}
boxes_left() {
	local want=$1 n c
	n=$(ls "$S_DIR/boxes" 2>/dev/null | tr '\n' ' ')
	[ "$n" = "$want" ] || s_fail "box dirs now: '$n', expected '$want'"
	c=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "pcbox-????????-x-$$" 2>/dev/null | head -1)
	[ -z "$c" ] || s_fail "cgroup $c left behind"
	grep -q "$S_DIR/boxes/x-$$" /proc/self/mountinfo && s_fail "a mount of box x-$$ is left"
	[ -z "$(new_elements)" ] || s_fail "new nftables elements: $(new_elements | tr '\n' ' ')"
}
elements >"$D_DIR/elements.0"

s_create web 1m "$P1" $(d_conf_lighttpd "$P1")
nothing_left "web "
# a boxed app that publishes P3
s_ports 1; P3=${S_PORTS[0]}
BX=bx-$$
s_box_create "$BX" 1m "127.0.0.1:$P3:80" -- $(s_box_conf_lighttpd)
BXADDR=$(s_field "$BX" 'a["address"]')
BXVETH=$(s_veth "$BXADDR")
BXIDX=$(s_ifindex "$BXADDR")
[ -n "$BXIDX" ] || s_fail "no veth $BXVETH for $BX ($BXADDR)"
nothing_left "$BX web "

bad s_app inspect nosuch
bad s_app rm nosuch
bad s_app swap-out nosuch
bad s_app swap-in nosuch
bad s_app logs nosuch
X=x-$$
bad s_app create web --runtime plain --port "$P2" -- sleep 100
bad s_app create "$BX" --port "$P2:80" -- sleep 100
bad s_app create other --runtime plain --port "$P1" -- sleep 100
bad s_app create other --runtime plain --port "$P3" -- sleep 100
bad s_app create "$X" --port "127.0.0.1:$P1:80" -- sleep 100
bad s_app create "$X" --port "$P3:8080" -- sleep 100
bad s_app create bad/name -- sleep 100
bad s_app create NotABoxName -- sleep 100
bad s_app create "$X" --idle 5parsecs -- sleep 100
bad s_app create "$X" --idle -1s -- sleep 100
bad s_app create "$X" --idle-cpu lots -- sleep 100
bad s_app create "$X" --idle-cpu 0 -- sleep 100
bad s_app create "$X" --sleep '' -- sleep 100
bad s_app create "$X" --runtime plain --sleep 5s -- sleep 100   # it cannot fall asleep
bad s_app create "$X" --runtime plain --port 70000 -- sleep 100
bad s_app create "$X" --runtime plain --port 0 -- sleep 100
bad s_app create "$X" --port 70000:80 -- sleep 100
bad s_app create "$X" --port "$P2:0" -- sleep 100
bad s_app create "$X" --port "$P2:80/sctp" -- sleep 100
bad s_app create "$X" --port "$P2"
bad s_app create "$X" --port "$P2" --
bad s_app create "$X" --runtime plain --workdir /nonexistent/dir -- sleep 100
bad s_app create "$X" --workdir relative/dir -- sleep 100
bad s_app create "$X" --workdir /nonexistent/dir -- sleep 100
bad s_app create "$X" --env NOEQUALS -- sleep 100
bad s_app create "$X" --runtime plain -- false
bad s_app create "$X" -- false
bad s_app create "$X" --runtime plain --port "$P2" -- sh -c 'echo it broke; exit 3'
bad s_app create "$X" --port "$P2:80" -- sh -c 'echo it broke; exit 3'
bad s_app create "$X" --runtime plain -- /nonexistent/program
bad s_app create "$X" -- /nonexistent/program
# listening on the box's loopback only: the published port cannot reach it
bad s_app create "$X" --port "$P2:8000" -- python3 -c \
	"import socket,time; s=socket.socket(); s.bind(('127.0.0.1', 8000)); s.listen(); time.sleep(60)"
grep -q "loopback only" "$D_DIR/err" || s_fail "a loopback-only listener: $(cat "$D_DIR/err")"
bad s_app create "$X" --rootfs /nonexistent/rootfs -- sleep 100
bad s_app create "$X" --rootfs relative/rootfs -- sleep 100
bad s_app create "$X" --rootfs oci:/nonexistent/image -- sleep 100
bad s_app create "$X" --memory 1K -- sleep 100
bad s_app create "$X" --memory lots -- sleep 100
bad s_app create "$X" --pids 0 -- sleep 100
bad s_app create "$X" --pids many -- sleep 100
bad s_app create "$X" --user www-data -- sleep 100
bad s_app create "$X" --runtime vm -- sleep 100
bad s_app create "$X" --runtime plain --memory 64M -- sleep 100
bad s_app create "$X" --runtime plain --rootfs host -- sleep 100
bad s_app create "$X" --runtime plain --no-egress -- sleep 100
nothing_left "$BX web "
boxes_left "$BX "

# a port a host socket holds
python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1', $P2)); s.listen(); time.sleep(60)" &
D_BG_PIDS+=($!)
d_wait "host listener" d_port_used "$P2"
bad s_app create "$X" --runtime plain --port "$P2" -- sleep 100
bad s_app create "$X" --port "$P2:80" -- sleep 100
nothing_left "$BX web "
boxes_left "$BX "

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
api400 '{"name": "x", "argv": ["sleep"], "idle_cpu": "2%"}'
api400 '{"name": "x", "argv": ["sleep"], "idle_cpu": 1e9}'
api400 '{"name": "x", "argv": ["sleep"], "env": ["=v"]}'
api400 '{"name": "x", "name": "y", "argv": ["sleep"]}'
api400 '{"argv": ["sleep"]}'
[ "$(api GET /nosuch)" = 404 ] || s_fail "GET /nosuch is not 404"
[ "$(api GET /apps/nosuch)" = 404 ] || s_fail "GET /apps/nosuch is not 404"
[ "$(api PUT /apps/web)" = 405 ] || s_fail "PUT /apps/web is not 405"
api400 '{"name": "x", "argv": ["sleep"], "publish": [80]}'
api400 '{"name": "x", "argv": ["sleep"], "memory": "64M"}'
api400 '{"name": "x", "argv": ["sleep"], "no_egress": "yes"}'
nothing_left "$BX web "

# the apps that were there all along still serve
d_expect "web" "hello from picocenter" curl -s --max-time 10 "http://127.0.0.1:$P1/"
d_expect "$BX" "hello from picocenter" curl -s --max-time 10 "http://127.0.0.1:$P3/"
[ "$(stat -c %a "$S_DIR/api.sock")" = 600 ] || s_fail "api.sock is not mode 0600"
s_app rm web >/dev/null || s_fail "rm web"
s_app rm "$BX" >/dev/null || s_fail "rm $BX"
nothing_left ""
s_box_leftovers "$BX" "$BXADDR" "$BXIDX"
BXADDR=
boxes_left ""
d_log PASS

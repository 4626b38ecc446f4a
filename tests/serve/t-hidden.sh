#!/bin/bash
# t-hidden.sh - a boxed app on the host's root filesystem does not see the
# daemon's state dir (its registry, API socket, store and the other apps'
# files): Python's http.server serving / from inside the box lists the
# state dir as holding nothing but the app's own log, before and after a
# swap cycle, and the registry is not found (404) at its path.
d=$(dirname "$0"); . "$d/lib.sh"
d_need python3 curl
s_init hidden
PORT=$(d_port)
s_box_create peek 10m "127.0.0.1:$PORT:8000" -- --workdir / -- python3 -m http.server 8000
URL="http://127.0.0.1:$PORT"
d_wait "peek listening" curl -sf --max-time 5 "$URL/" -o /dev/null

check_hidden() {
	local code listing
	[ -f "$S_DIR/registry.db" ] || s_fail "no registry at $S_DIR (the check would prove nothing)"
	code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$URL$S_DIR/registry.db")
	[ "$code" = 404 ] || s_fail "$1: the box reads $S_DIR/registry.db (HTTP $code)"
	code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$URL$S_DIR/api.sock")
	[ "$code" = 404 ] || s_fail "$1: the box sees $S_DIR/api.sock (HTTP $code)"
	listing=$(curl -s --max-time 10 "$URL$S_DIR/")
	echo "$listing" | grep -q 'href="apps/"' || s_fail "$1: no listing of $S_DIR: $listing"
	echo "$listing" | grep -Eq 'registry|store|boxes|api.sock' &&
		s_fail "$1: the box lists the state dir: $listing"
	curl -s --max-time 10 "$URL$S_DIR/apps/" | grep -q 'href="peek/"' ||
		s_fail "$1: the app's own log dir is not there"
	d_log "$1: the state dir is hidden"
}

check_hidden "created"
s_app swap-out peek >/dev/null || s_fail "swap-out peek"
[ "$(s_state peek)" = napping ] || s_fail "peek is $(s_state peek)"
check_hidden "after a swap cycle"
grep -q "GET $S_DIR/registry.db" "$S_DIR/apps/peek/log" ||
	s_fail "the app's log (bound into the hidden dir) did not get the requests"
s_app rm peek >/dev/null || s_fail "app rm peek"
d_log PASS

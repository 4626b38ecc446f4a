#!/bin/bash
# t-pyhttp.sh - Python's http.server (an interpreter with its modules,
# threads started per request) serving files through dump/restore cycles:
# before each cycle a new file is written to the document root; after it
# curl gets index.html and every file written so far, byte for byte, and a
# missing file is a 404.  The server's log must show one start-up banner
# only (a restarted server would print another) and one line per request
# made, so its stderr was restored too.
d=$(dirname "$0"); [ -f "$d/lib.sh" ] || d=$d/..; . "$d/lib.sh"
d_need python3 curl
d_init pyhttp
PORT=$(d_port)
d_spawn $(d_conf_pyhttp "$PORT")

get() { curl -sS --fail --max-time 5 "http://127.0.0.1:$PORT/$1"; }
d_wait "python3 http.server" get index.html
REQS=1   # requests the server answered: the wait's (refused tries never reach it)...
FILES=(index.html)

pre() {
	local f=c$1.txt
	printf 'cycle %s %s' "$1" "$RANDOM$RANDOM" >"$D_DIR/www/$f"
	FILES+=("$f")
	REQS=$((REQS + 1))
	d_expect "GET /$f before the cycle" "$(cat "$D_DIR/www/$f")" get "$f"
}

post() {
	local f banners
	for f in "${FILES[@]}"; do
		d_expect "GET /$f after cycle $1" "$(cat "$D_DIR/www/$f")" get "$f"
	done
	REQS=$((REQS + ${#FILES[@]} + 1))   # ...the files and the 404
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/nosuch")" = 404 ] ||
		d_fail "no 404 for a missing file after cycle $1"
	banners=$(grep -c '^Serving HTTP on' "$D_LOG")
	[ "$banners" = 1 ] || d_fail "$banners start-up banners in the log after cycle $1: the server started again"
}

d_cycles pre post
logged() { [ "$(grep -c '"GET /' "$D_LOG")" -ge "$REQS" ]; }
d_wait "$REQS requests in the server's log" logged
d_finish

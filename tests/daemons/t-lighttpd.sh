#!/bin/bash
# t-lighttpd.sh - lighttpd serving static files through dump/restore
# cycles: before each cycle a new file is written to the document root;
# after it curl gets index.html and every file written so far, byte for
# byte.  mod_status's request counter (updated once a second) never goes
# back, and at the end counts every request made over all the cycles.
d=$(dirname "$0"); [ -f "$d/lib.sh" ] || d=$d/..; . "$d/lib.sh"
d_need lighttpd curl
d_init lighttpd
PORT=$(d_port)
d_spawn $(d_conf_lighttpd "$PORT")

get() { curl -sS --fail --max-time 5 "http://127.0.0.1:$PORT/$1"; }
d_wait "lighttpd" get index.html
FILES=(index.html)
accesses() { get 'server-status?auto' | sed -n 's/^Total Accesses: //p'; }
LAST=0

pre() {
	local f=c$1.txt
	printf 'cycle %s %s' "$1" "$RANDOM$RANDOM" >"$D_DIR/www/$f"
	chmod a+r "$D_DIR/www/$f"
	FILES+=("$f")
	d_expect "GET /$f before the cycle" "$(cat "$D_DIR/www/$f")" get "$f"
}

post() {
	local f
	for f in "${FILES[@]}"; do
		d_expect "GET /$f after cycle $1" "$(cat "$D_DIR/www/$f")" get "$f"
	done
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/nosuch")" = 404 ] ||
		d_fail "no 404 for a missing file after cycle $1"
	a=$(accesses)
	[ -n "$a" ] && [ "$a" -ge "$LAST" ] || d_fail "Total Accesses went from $LAST to '$a' (cycle $1)"
	LAST=$a
}

d_cycles pre post
# Every GET above: the first ready check, one per file before its cycle, the
# files, the 404 and the status after each cycle.
n=$((1 + D_CYCLES + D_CYCLES * (D_CYCLES + 1) / 2 + D_CYCLES * 3))
enough() { [ "$(accesses)" -ge "$n" ]; }
d_wait "Total Accesses >= $n" enough
d_finish

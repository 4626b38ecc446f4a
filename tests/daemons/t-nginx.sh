#!/bin/bash
# t-nginx.sh - nginx, a master and 2 worker processes, through dump/restore
# cycles.  Before each cycle a new file is written to the document root;
# after it curl gets index.html and every file written so far.  A keep-alive
# connection (progs/keepalive.c) opened before cycle 1 stays idle across all
# cycles and serves a request on the same connection after each restore.
# The access log (a regular file the workers keep open) must hold one line
# per request, those of the restored workers included, and stub_status's
# request counter (in memory shared by the workers) must count every request
# since the start.  lib.sh checks that the master and both workers come back
# (no worker respawned).  The tree's summed anonymous Pss after each cycle's checks is
# within 10% of what it was before the dump: the workers still share the
# master's pages (docs/memory.md, prefork sharing).
d=$(dirname "$0"); [ -f "$d/lib.sh" ] || d=$d/..; . "$d/lib.sh"
d_need nginx curl
d_init nginx
PORT=$(d_port)
d_spawn $(d_conf_nginx "$PORT")

get() { curl -sS --fail --max-time 5 "http://127.0.0.1:$PORT/$1"; }
REQS=0
get_ok() {
	d_expect "$1" "$(cat "$D_DIR/www/$2")" get "$2"
	REQS=$((REQS + 1))
}
log_lines() { [ "$(wc -l <"$D_DIR/nginx-access.log")" = "$REQS" ]; }
# stub_status counts this request too: every request so far, plus one.
status_ok() {
	local r
	r=$(get status | awk 'NR == 3 { print $3 }')
	REQS=$((REQS + 1))
	[ "$r" = "$REQS" ] || d_fail "stub_status counts $r requests, $REQS were made ($1)"
}

d_wait "nginx" get index.html
REQS=1   # the one GET that answered (refused connections are no requests)
d_wait "access log lines ($REQS)" log_lines
[ "$(d_tree | wc -l)" = 3 ] || d_fail "nginx is not a master and 2 workers: $(d_tree | tr '\n' ' ')"

# The keep-alive client: outside the tree, commands through a FIFO.
KA=$D_DIR/ka.fifo
mkfifo "$KA"
: >"$D_DIR/ka.out"
"$KEEPALIVE" "$PORT" /index.html "$(cat "$D_DIR/www/index.html")" "$KA" >>"$D_DIR/ka.out" 2>&1 &
D_BG_PIDS+=($!)
ka_has() { grep -qx "$1" "$D_DIR/ka.out"; }
ka_wait() {
	local end=$((SECONDS + D_TIMEOUT))
	until ka_has "$1"; do
		grep -q '^FAIL' "$D_DIR/ka.out" && d_fail "keep-alive client: $(grep -m1 '^FAIL' "$D_DIR/ka.out")"
		[ $SECONDS -ge $end ] && d_fail "keep-alive client: no '$1'"
		sleep 0.02
	done
}
ka_wait "RESP 0"
REQS=$((REQS + 1))
d_log "keep-alive connection open ($(head -n 1 "$D_DIR/ka.out"))"

pre() {
	local f=c$1.txt
	printf 'cycle %s %s' "$1" "$RANDOM$RANDOM" >"$D_DIR/www/$f"
	chmod a+r "$D_DIR/www/$f"
	get_ok "GET /$f before the cycle" "$f"
	d_wait "access log lines ($REQS)" log_lines
	status_ok "before cycle $1"
	d_wait "access log lines ($REQS)" log_lines
	PSS_BEFORE=$(d_pss)
}

post() {
	local f i
	echo "req $1" >"$KA"
	ka_wait "RESP $1"
	REQS=$((REQS + 1))
	get_ok "GET /index.html after cycle $1" index.html
	for i in $(seq "$1"); do
		get_ok "GET /c$i.txt after cycle $1" "c$i.txt"
	done
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/nosuch")" = 404 ] ||
		d_fail "no 404 for a missing file after cycle $1"
	REQS=$((REQS + 1))
	d_wait "access log lines ($REQS) after cycle $1" log_lines
	status_ok "after cycle $1"
	d_wait "access log lines ($REQS) after cycle $1" log_lines
	[ "$CR_NOCR" = 0 ] || return 0
	pss=$(d_pss)
	d_log "cycle $1: anonymous Pss $pss KiB, $PSS_BEFORE KiB before the dump"
	[ "$pss" -le $((PSS_BEFORE * 11 / 10)) ] ||
		d_fail "anonymous Pss after cycle $1 is $pss KiB, more than 10% over $PSS_BEFORE KiB"
}

d_cycles pre post
echo quit >"$KA"
d_finish

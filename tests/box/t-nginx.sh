#!/bin/bash
# t-nginx.sh - nginx (a master and 2 workers as www-data) in a box from
# `host`, port published on every host address, through 10 dump/restore
# cycles: a file written inside the box before each cycle, then every file
# so far through 127.0.0.1:HOSTPORT and the box's address; the workers are
# the same processes (namespace pids) after every cycle.
d=$(dirname "$0"); . "$d/lib.sh"
b_need nginx curl nsenter
b_init nginx
HP=$(b_port)
WWW=/srv/pc-nginx-$$
T=/var/tmp/pc-nginx-$$
cat >"$B_DIR/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 2;
user www-data www-data;
pid $T/nginx.pid;
error_log $T/error.log notice;
events { worker_connections 64; }
http {
	access_log $T/access.log;
	client_body_temp_path $T/body;
	proxy_temp_path $T/proxy;
	fastcgi_temp_path $T/fastcgi;
	uwsgi_temp_path $T/uwsgi;
	scgi_temp_path $T/scgi;
	default_type text/plain;
	server { listen 80; root $WWW; }
}
CONF
b_spawn ngx --port "$HP:80" -- sh -c \
	"mkdir -p $WWW $T && chmod a+rx $WWW && echo index > $WWW/index.html && exec nginx -c $B_DIR/nginx.conf" ||
	b_fail "spawn in a box failed"
PID=$B_PID
ADDR=$(b_addr ngx)
BOX=$B_BOXES/ngx-$$
get() { curl -sS --fail --max-time 5 "http://$1/$2"; }
b_wait "nginx" get "127.0.0.1:$HP" index.html
workers() { b_in "$1" ps -eo pid=,user=,comm= | awk '$2 == "www-data" { print $1 }' | sort | tr '\n' ' '; }
W=$(workers "$PID")
[ "$(echo $W | wc -w)" = 2 ] || b_fail "workers: '$W'"
FILES=(index.html)
for c in $(seq 10); do
	b_in "$PID" sh -c "echo cycle $c > $WWW/c$c.txt && chmod a+r $WWW/c$c.txt"
	FILES+=("c$c.txt")
	b_cycle ngx "$PID" "$B_DIR/img"
	PID=$B_PID
	for f in "${FILES[@]}"; do
		w=$(cat "$BOX/upper$WWW/$f")
		[ "$(get "127.0.0.1:$HP" "$f")" = "$w" ] || b_fail "GET /$f on 127.0.0.1:$HP after cycle $c"
		[ "$(get "$ADDR" "$f")" = "$w" ] || b_fail "GET /$f on $ADDR after cycle $c"
	done
	[ "$(workers "$PID")" = "$W" ] || b_fail "workers changed after cycle $c: '$(workers "$PID")' (were '$W')"
	b_log "cycle $c ok (pid $PID)"
done
"$PICOCENTER" box rm --box-dir "$B_BOXES" "ngx-$$" || b_fail "box rm"
b_leftovers "ngx-$$"
b_log PASS

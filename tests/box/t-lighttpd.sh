#!/bin/bash
# t-lighttpd.sh - lighttpd in a box from `host`, its port published on
# 127.0.0.1 and on every host address, through 10 dump/restore cycles.
# Before each cycle a file is written inside the box (it lands in the
# box's upper layer only, never on the host); after it curl gets every
# file so far through the published port and through the box's address on
# the bridge, and the hostname, the address and the network namespace of
# the box are the same as before.
d=$(dirname "$0"); . "$d/lib.sh"
b_need lighttpd curl nsenter
b_init lighttpd
HP=$(b_port)
WWW=/srv/pc-www-$$
cat >"$B_DIR/lighttpd.conf" <<CONF
server.document-root = "$WWW"
server.port = 80
server.errorlog = "$WWW.err"
server.modules = ( "mod_staticfile" )
index-file.names = ( "index.html" )
mimetype.assign = ( ".txt" => "text/plain", ".html" => "text/html" )
CONF
# lighttpd refuses a missing document root: the box's init makes it first.
b_spawn web --port "127.0.0.1:$HP:80" -- sh -c \
	"mkdir -p $WWW && echo index > $WWW/index.html && exec lighttpd -D -f $B_DIR/lighttpd.conf" ||
	b_fail "spawn in a box failed"
PID=$B_PID
BOX=$B_BOXES/web-$$
ADDR=$(b_addr web)
[ -n "$ADDR" ] || b_fail "no address for the box"
case $ADDR in "$B_NET".*) ;; *) b_fail "address $ADDR not in $B_SUBNET" ;; esac
get() { curl -sS --fail --max-time 5 "http://$1/$2"; }
b_wait "lighttpd on 127.0.0.1:$HP" get "127.0.0.1:$HP" index.html
[ "$(get "$ADDR" index.html)" = index ] || b_fail "index.html through $ADDR:80"
[ -e "$WWW" ] && b_fail "$WWW appeared on the host: the box wrote outside its upper layer"
[ -f "$BOX/upper$WWW/index.html" ] || b_fail "index.html is not in the box's upper layer"
[ "$(b_in "$PID" hostname)" = "web-$$" ] || b_fail "hostname is '$(b_in "$PID" hostname)'"
# its own name resolves to its address at once, from /etc/hosts; its
# resolvers are the host's that it can reach (none on the host's loopback)
[ "$(b_in "$PID" getent ahostsv4 "web-$$" | awk 'NR == 1 {print $1}')" = "$ADDR" ] ||
	b_fail "getent ahostsv4 web-$$ in the box: '$(b_in "$PID" getent ahostsv4 "web-$$")'"
[ "$(b_in "$PID" cat /etc/hostname)" = "web-$$" ] || b_fail "/etc/hostname in the box"
b_in "$PID" grep -qE '^nameserver +(127\.|::1)' /etc/resolv.conf &&
	b_fail "the box's resolv.conf names a resolver on loopback"
NETNS=$(readlink "/proc/$PID/ns/net")
# floor: Seccomp, NoNewPrivs and CapBnd lines of the app's status
floor() { grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs|CapBnd|CapEff):' "/proc/$1/status" | tr '\n\t' '  '; }
FLOOR=$(floor "$PID")
case $FLOOR in *"Seccomp: 2"*"NoNewPrivs: 1"* | *"NoNewPrivs: 1"*"Seccomp: 2"*) ;;
	*) b_fail "the app lacks its security floor: $FLOOR" ;; esac
[ "$(grep CapBnd "/proc/$PID/status")" != "$(grep CapBnd /proc/self/status)" ] ||
	b_fail "the app has the host's capability bounding set"
[ "$NETNS" != "$(readlink /proc/self/ns/net)" ] || b_fail "the box shares the host's network namespace"

FILES=(index.html)
for c in $(seq 10); do
	f=c$c.txt
	b_in "$PID" sh -c "echo cycle $c $RANDOM > $WWW/$f" || b_fail "write $f in the box"
	want=$(cat "$BOX/upper$WWW/$f") || b_fail "$f is not in the upper layer"
	FILES+=("$f")
	b_cycle web "$PID" "$B_DIR/img"
	PID=$B_PID
	for f in "${FILES[@]}"; do
		[ "$f" = index.html ] && w=index || w=$(cat "$BOX/upper$WWW/$f")
		[ "$(get "127.0.0.1:$HP" "$f")" = "$w" ] || b_fail "GET /$f on 127.0.0.1:$HP after cycle $c"
		[ "$(get "$ADDR" "$f")" = "$w" ] || b_fail "GET /$f on $ADDR after cycle $c"
	done
	[ "$(cat "$BOX/upper$WWW/c$c.txt")" = "$want" ] || b_fail "c$c.txt changed"
	[ "$(b_in "$PID" hostname)" = "web-$$" ] || b_fail "hostname lost after cycle $c"
	[ "$(b_in "$PID" getent ahostsv4 "web-$$" | awk 'NR == 1 {print $1}')" = "$ADDR" ] ||
		b_fail "its name in /etc/hosts after cycle $c"
	[ "$(readlink "/proc/$PID/ns/net")" = "$NETNS" ] || b_fail "network namespace changed in cycle $c"
	b_in "$PID" ip -4 -o addr show eth0 | grep -q " $ADDR/" || b_fail "address lost after cycle $c"
	grep -q "pcbox-[0-9a-f]*-web-$$" "/proc/$PID/cgroup" || b_fail "restored tree is not in the box's cgroup"
	[ "$(floor "$PID")" = "$FLOOR" ] || b_fail "security floor after cycle $c: $(floor "$PID") (was $FLOOR)"
	[ "$(readlink "/proc/$PID/root")" = / ] || b_fail "root of the restored tree"
	b_in "$PID" test -e "$B_BOXES" && [ -n "$(b_in "$PID" ls -A "$B_BOXES")" ] &&
		b_fail "the box dir is visible from inside the box"
	b_log "cycle $c ok (pid $PID)"
done
"$PICOCENTER" box rm --box-dir "$B_BOXES" "web-$$" || b_fail "box rm"
b_leftovers "web-$$"
curl -s --max-time 2 "http://127.0.0.1:$HP/" >/dev/null && b_fail "port $HP still answers after box rm"
b_log PASS

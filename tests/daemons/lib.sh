# lib.sh - shared by the real-daemon tests (tests/daemons/t-*.sh) and
# bench/daemons.sh.
#
# A daemon from Debian's packages is started with `picocenter cr spawn`, in
# the foreground, on the host filesystem, with its own configuration in a
# temporary directory and on free loopback ports.  A test uses it with the
# daemon's own client, then does D_CYCLES (10) dump/restore cycles:
#
#   before each cycle   PRE N writes new data (keys, files, host names)
#   the cycle           snapshot the tree (host pids with their start times,
#                       namespace pids and names of every thread), dump it:
#                       every old process must be gone; restore it: the new
#                       root must be a new host pid, pid 1 of a new PID
#                       namespace, with the same namespace pids and thread
#                       names as before (no worker respawned, no thread lost)
#   after each cycle    POST N checks that the daemon answers correctly and
#                       that the data of this and every earlier cycle reads
#                       back
#
#   CR_NOCR=1    the same test without dump/restore (start, use, check): it
#                proves the daemon part of a test on its own
#   CR_NOCR=restart  each cycle kills the daemon and starts it afresh: a
#                test of a stateful daemon must FAIL this way (it shows the
#                checks see the state a plain restart loses)
#   D_CYCLES     number of cycles (default 10)
#   D_TIMEOUT    seconds for any wait (default 10)
#   D_KEEP=1     keep the work directory (configs, logs, images)
#   D_STORE=URL  images go to that store, restores are lazy from it

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PICOCENTER=${PICOCENTER:-$ROOT/build/picocenter}
TBIN=${TBIN:-$ROOT/build/tests}
TEST_TMP=${TEST_TMP:-/tmp}
CR_NOCR=${CR_NOCR:-0}
D_CYCLES=${D_CYCLES:-10}
D_TIMEOUT=${D_TIMEOUT:-10}
DCLIENT=$TBIN/daemons/dclient
KEEPALIVE=$TBIN/daemons/keepalive

D_NAME=          # test name, for messages
D_DIR=           # work dir: configs, docroot, logs, images
D_LOG=           # the tree's stdout/stderr (cr spawn --log)
D_PID=           # host pid of the tree's root (the daemon)
D_CMD=()         # the daemon's command line
D_SPAWN_WRAP=()  # a command that runs `cr spawn` for d_spawn (the bench times it)
D_ALL_PIDS=()    # every root host pid this test had (spawned or restored)
D_BG_PIDS=()     # host-side helpers started by the test (clients)
D_PORTS=()       # ports handed out by d_port
D_SNAP=          # namespace pid:name of every thread, before the last dump
D_OLD=()         # host "pid:starttime" of every process before the last dump
D_DUMP_MS=       # duration of the last dump and restore commands
D_RESTORE_MS=

d_log() { echo "[$(date +%T.%3N)] $D_NAME: $*"; }

d_cleanup() {
	local p
	for p in "${D_BG_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	# A namespace's init ignores SIGTERM from outside; SIGKILL on its host
	# pid takes the whole namespace down.
	for p in "${D_ALL_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	[ -n "$D_DIR" ] && [ "${D_KEEP:-0}" = 0 ] && rm -rf "$D_DIR"
	return 0
}

d_fail() {
	local f
	d_log "FAIL: $*"
	if [ -n "$D_DIR" ]; then
		for f in "$D_DIR"/log "$D_DIR"/*.log "$D_DIR"/*.out; do
			[ -s "$f" ] || continue
			echo "--- last lines of $f:"
			tail -n 15 "$f"
		done
	fi
	exit 1
}

# d_need PROG...: the daemons and clients come from tests/daemons/packages
# (scripts/deps.sh installs them); missing ones are a failure, not a skip.
d_need() {
	local p
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 ||
			d_fail "$p not installed (scripts/deps.sh installs tests/daemons/packages)"
	done
}

# d_init NAME: work dir and cleanup trap.
d_init() {
	D_NAME=$1
	[ -x "$PICOCENTER" ] || d_fail "no $PICOCENTER (run make)"
	[ -x "$DCLIENT" ] && [ -x "$KEEPALIVE" ] || d_fail "no $DCLIENT (run make)"
	# Directly under /tmp, not TEST_TMP (mode 700): workers that drop
	# privileges (nginx's www-data, dnsmasq's nobody) read their files here.
	D_DIR=$(mktemp -d /tmp/picocenter-daemon-"$D_NAME".XXXXXX) || exit 1
	chmod 755 "$D_DIR"
	D_LOG=$D_DIR/log
	trap d_cleanup EXIT
	trap 'exit 1' INT TERM
}

# True if PORT is bound by any TCP or UDP socket (any state) on the host.
d_port_used() {
	local hex f
	hex=$(printf '%04X' "$1")
	for f in /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6; do
		[ -r "$f" ] || continue
		awk -v p=":$hex" 'NR > 1 && substr($2, length($2) - 4) == p { found = 1 }
			END { exit !found }' "$f" && return 0
	done
	return 1
}

# d_port: print a port free for TCP and UDP on loopback, below the
# ephemeral range (so that no client socket takes it meanwhile) and not
# handed out before in this test.
d_port() {
	local p i lo=10000 hi=32000 q dup
	read -r q _ </proc/sys/net/ipv4/ip_local_port_range
	[ "$q" -gt 12000 ] && [ "$q" -le 32768 ] && hi=$((q - 1))
	for i in $(seq 200); do
		p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo)))
		dup=0
		for q in "${D_PORTS[@]}"; do [ "$q" = "$p" ] && dup=1; done
		[ $dup = 1 ] && continue
		d_port_used "$p" && continue
		D_PORTS+=("$p")
		echo "$p"
		return 0
	done
	d_fail "no free port found"
}

# d_spawn CMD...: start CMD as the root of a new tree; sets D_PID.
d_spawn() {
	D_CMD=("$@")
	D_PID=$("${D_SPAWN_WRAP[@]}" "$PICOCENTER" cr spawn --log "$D_LOG" -- "$@") ||
		d_fail "cr spawn $1 failed"
	[[ $D_PID =~ ^[0-9]+$ ]] || d_fail "cr spawn printed '$D_PID', not a pid"
	D_ALL_PIDS+=("$D_PID")
	d_log "spawned $* as pid $D_PID"
}

# True if PID exists and is not a zombie.
d_alive() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	case ${st%% *} in Z | X | x) return 1 ;; esac
	return 0
}

# d_wait DESC CMD...: run CMD until it succeeds, at most D_TIMEOUT seconds;
# fails the test early if the daemon's root died.
d_wait() {
	local desc=$1 end=$((SECONDS + D_TIMEOUT))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ -n "$D_PID" ] && ! d_alive "$D_PID" && d_fail "daemon (pid $D_PID) died waiting for $desc"
		[ $SECONDS -ge $end ] && {
			"$@" 2>&1 | tail -n 3
			d_fail "timeout ($D_TIMEOUT s) waiting for $desc"
		}
		sleep 0.05
	done
}

# d_expect DESC WANT CMD...: CMD's output (trimmed) must be WANT.  CMD
# bounds its own time (clients are run with timeouts).
d_expect() {
	local desc=$1 want=$2 got
	shift 2
	got=$("$@" 2>&1)
	got=${got%$'\n'}
	[ "$got" = "$want" ] || d_fail "$desc: got '$got', expected '$want' (from: $*)"
}

# d_tree [ROOT]: host pids of ROOT (default D_PID) and all its descendants.
d_tree() {
	local todo=("${1:-$D_PID}") p c
	while [ ${#todo[@]} -gt 0 ]; do
		p=${todo[0]}
		todo=("${todo[@]:1}")
		echo "$p"
		for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
			todo+=("$c")
		done
	done
}

# d_pss [ROOT]: the summed Pss_Anon of the tree in KiB (smaps_rollup): the
# private memory a restore could share or copy.
d_pss() {
	local p t=0 v
	for p in $(d_tree "$@"); do
		v=$(awk '/^Pss_Anon:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

# d_starttime PID: field 22 of /proc/PID/stat (tells a reused pid apart).
d_starttime() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	set -- $st
	echo "${20}"
}

# d_threads [ROOT]: "nspid:name" of every thread of the tree, sorted.
d_threads() {
	local p t ns name
	for p in $(d_tree "$@"); do
		for t in /proc/"$p"/task/*; do
			ns=$(awk '/^NSpid:/ { print $NF }' "$t/status" 2>/dev/null)
			name=$(cat "$t/comm" 2>/dev/null)
			[ -n "$ns" ] && echo "$ns:$name"
		done
	done | sort
}

# d_snapshot: remember the tree before a dump.
d_snapshot() {
	local p s
	D_OLD=()
	for p in $(d_tree); do
		s=$(d_starttime "$p") && D_OLD+=("$p:$s")
	done
	D_SNAP=$(d_threads)
}

now_us() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }

# d_where DIR: where images go: --dir DIR, or with D_STORE=URL the image
# named after the test in that store (lazy restores from the store, with
# the ActiveSet: tests/activeset/t-daemons.sh).
d_where() {
	if [ -n "${D_STORE:-}" ]; then
		echo "--store $D_STORE --image d-$D_NAME"
	else
		echo "--dir $1"
	fi
}

# d_dump DIR: dump the tree; every process of it must be gone afterwards.
d_dump() {
	local dir=$1 t0 e i p s left
	t0=$(now_us)
	if ! "$PICOCENTER" cr dump --pid "$D_PID" $(d_where "$dir") 2>"$D_DIR/dump.err"; then
		cat "$D_DIR/dump.err"
		d_fail "cr dump --pid $D_PID --dir $dir failed: $(tail -n 1 "$D_DIR/dump.err")"
	fi
	D_DUMP_MS=$(( ($(now_us) - t0) / 1000 ))
	for i in $(seq 200); do
		left=
		for e in "${D_OLD[@]}"; do
			p=${e%%:*}
			s=$(d_starttime "$p") || continue
			[ "$s" = "${e#*:}" ] && d_alive "$p" && left="$left $p"
		done
		[ -z "$left" ] && return 0
		sleep 0.01
	done
	d_fail "processes of the dumped tree still running 2 s after the dump:$left"
}

# d_restore DIR: restore; the new root must be a new host pid, pid 1 of a
# new namespace, with the same threads (namespace pids and names).
d_restore() {
	local dir=$1 out t0 e ns now i
	t0=$(now_us)
	if ! out=$("$PICOCENTER" cr restore $(d_where "$dir") 2>"$D_DIR/restore.err"); then
		cat "$D_DIR/restore.err"
		d_fail "cr restore --dir $dir failed: $(tail -n 1 "$D_DIR/restore.err")"
	fi
	D_RESTORE_MS=$(( ($(now_us) - t0) / 1000 ))
	[[ $out =~ ^[0-9]+$ ]] || d_fail "cr restore printed '$out', not a pid"
	for e in "${D_ALL_PIDS[@]}" "${D_OLD[@]%%:*}"; do
		[ "$e" = "$out" ] && d_fail "restored root has host pid $out, an old one"
	done
	D_PID=$out
	D_ALL_PIDS+=("$D_PID")
	d_alive "$D_PID" || d_fail "restored root $D_PID is not running"
	ns=$(awk '/^NSpid:/ { print $NF; n = NF } END { if (n < 3) print "not-nested" }' \
		"/proc/$D_PID/status")
	[ "$ns" = 1 ] || d_fail "restored root $D_PID is not pid 1 of a new namespace (NSpid ends '$ns')"
	for i in $(seq 100); do
		now=$(d_threads)
		[ "$now" = "$D_SNAP" ] && return 0
		sleep 0.02
	done
	echo "--- threads before the dump (nspid:name):"
	echo "$D_SNAP"
	echo "--- threads after the restore:"
	echo "$now"
	d_fail "the restored tree differs from the dumped one"
}

# d_cycle N: one dump+restore cycle (nothing with CR_NOCR=1).
d_cycle() {
	local n=$1
	if [ "$CR_NOCR" = 1 ]; then
		sleep 0.05
		return
	fi
	if [ "$CR_NOCR" = restart ]; then
		kill -KILL "$D_PID"
		while d_alive "$D_PID"; do sleep 0.01; done
		d_spawn "${D_CMD[@]}" >/dev/null
		sleep 0.5
		return
	fi
	d_snapshot
	d_dump "$D_DIR/img.$n"
	d_restore "$D_DIR/img.$n"
	rm -rf "$D_DIR/img.$n"
	d_log "cycle $n: dump ${D_DUMP_MS} ms, restore ${D_RESTORE_MS} ms, new root pid $D_PID"
}

# d_cycles PRE POST: PRE N; cycle N; POST N for N in 1..D_CYCLES.
d_cycles() {
	local pre=$1 post=$2 i
	for i in $(seq "$D_CYCLES"); do
		$pre "$i"
		d_cycle "$i"
		$post "$i"
		d_log "cycle $i: checks OK"
	done
}

# d_finish: kill the tree and pass.
d_finish() {
	kill -KILL "$D_PID" 2>/dev/null
	if [ "$CR_NOCR" = 1 ]; then
		d_log "PASS (CR_NOCR=1: no dump/restore)"
	else
		d_log "PASS ($D_CYCLES cycles)"
	fi
	exit 0
}

# ---- daemon configurations: d_conf_NAME PORT writes $D_DIR/..., and
# prints the command line that runs the daemon in the foreground. ----

# Static files served by the web servers: $D_DIR/www.
d_www() {
	mkdir -p "$D_DIR/www"
	printf 'hello from picocenter' >"$D_DIR/www/index.html"
	chmod -R a+rX "$D_DIR/www"
}

d_conf_lighttpd() {
	local port=$1
	d_www
	cat >"$D_DIR/lighttpd.conf" <<EOF
server.document-root = "$D_DIR/www"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$D_DIR/lighttpd-error.log"
server.max-keep-alive-idle = 3600
server.modules = ( "mod_staticfile", "mod_status" )
status.status-url = "/server-status"
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html", ".txt" => "text/plain" )
EOF
	echo "lighttpd -D -f $D_DIR/lighttpd.conf"
}

d_conf_nginx() {
	local port=$1 t
	d_www
	for t in body proxy fastcgi uwsgi scgi; do mkdir -p "$D_DIR/nginx-tmp/$t"; done
	cat >"$D_DIR/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 2;
user www-data www-data;
pid $D_DIR/nginx.pid;
error_log $D_DIR/nginx-error.log notice;
events { worker_connections 64; }
http {
	access_log $D_DIR/nginx-access.log;
	client_body_temp_path $D_DIR/nginx-tmp/body;
	proxy_temp_path $D_DIR/nginx-tmp/proxy;
	fastcgi_temp_path $D_DIR/nginx-tmp/fastcgi;
	uwsgi_temp_path $D_DIR/nginx-tmp/uwsgi;
	scgi_temp_path $D_DIR/nginx-tmp/scgi;
	keepalive_timeout 3600s;
	keepalive_requests 100000;
	default_type text/plain;
	server {
		listen 127.0.0.1:$port;
		root $D_DIR/www;
		location = /status { stub_status; }
	}
}
EOF
	echo "nginx -e $D_DIR/nginx-error.log -p $D_DIR -c $D_DIR/nginx.conf"
}

d_conf_redis() {
	local port=$1
	cat >"$D_DIR/redis.conf" <<EOF
port $port
bind 127.0.0.1
protected-mode no
daemonize no
supervised no
dir $D_DIR
logfile ""
appendonly no
save ""
EOF
	echo "redis-server $D_DIR/redis.conf"
}

d_conf_memcached() {
	local port=$1
	echo "memcached -t 4 -U 0 -l 127.0.0.1 -p $port -m 64 -u memcache"
}

# Python's own HTTP server (the "10 MB Python HTTP server" CRIU was
# measured with): unbuffered, so its banner and request log reach D_LOG.
d_conf_pyhttp() {
	local port=$1
	d_www
	echo "python3 -u -m http.server --bind 127.0.0.1 --directory $D_DIR/www $port"
}

# d_conf_dnsmasq PORT [wildcard]: with "wildcard", dnsmasq's default way of
# listening: sockets on 0.0.0.0 and [::], each query's destination taken
# from IP_PKTINFO / IPV6_RECVPKTINFO and filtered by listen-address (no
# bind-interfaces).
d_conf_dnsmasq() {
	local port=$1 bind=bind-interfaces
	[ "${2:-}" = wildcard ] && bind="# wildcard sockets (no bind-interfaces)"
	cat >"$D_DIR/hosts" <<EOF
10.0.0.1 www.pico.test
10.0.0.2 mail.pico.test
EOF
	cat >"$D_DIR/dnsmasq.conf" <<EOF
keep-in-foreground
no-resolv
no-hosts
addn-hosts=$D_DIR/hosts
port=$port
listen-address=127.0.0.1
$bind
pid-file=
user=nobody
log-facility=-
local=/pico.test/
EOF
	echo "dnsmasq --conf-file=$D_DIR/dnsmasq.conf"
}

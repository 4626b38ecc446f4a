# lib.sh - shared by the serve tests (tests/serve/t-*.sh) and bench/serve.sh.
#
# A test starts its own `picocenter serve` on a state dir inside its work
# dir (D_DIR, from tests/daemons/lib.sh, whose daemon configurations and
# free ports it uses), deploys real daemons as apps with `picocenter app`,
# and drives them with their own clients.  At exit every process that
# names the work dir in its command line (the daemon, its apps, their
# keepers and custody holders) is killed by pid, and the dir removed.
#
#   S_DIR     the daemon's state dir
#   S_PID     the daemon's pid
#   S_LOG     its stderr (one line per event)
#
# Apps run in boxes unless created with --runtime plain: s_create makes a
# plain app (the host's network, the configs of tests/daemons/lib.sh);
# s_box_create a boxed one with the s_box_conf_* configs (listening on the
# box's own address, reached through published ports).  A test's boxed
# apps end in -$$ (b_leftovers-style checks find cgroups by name).  The
# daemon puts its boxes on a bridge and subnet of the test's own
# (S_BRIDGE, S_NET.0/24, or S_SUBNET if set), apart from other daemons
# on this machine.

d=$(dirname "${BASH_SOURCE[0]}")
. "$d/../daemons/lib.sh"

S_DIR= S_PID= S_LOG=
S_BRIDGE=pcst$$
S_NET=10.$((128 + $$ % 64)).$((($$ / 64) % 256))

# Pids of every process whose command line names D_DIR (ours alone: the
# directory is a fresh mktemp).
s_our_pids() {
	local f p
	for f in /proc/[0-9]*/cmdline; do
		p=${f#/proc/}
		p=${p%/cmdline}
		[ "$p" = $$ ] || [ "$p" = "$BASHPID" ] && continue
		tr '\0' ' ' 2>/dev/null <"$f" | grep -qF -- "$D_DIR" && echo "$p"
	done
}

s_cleanup() {
	local p n
	[ -n "$S_PID" ] && kill -KILL "$S_PID" 2>/dev/null
	# sanitizer reports of the daemon (an ASan build) reach the test's output
	[ -n "$S_LOG" ] && grep -E -A5 "runtime error|ERROR: (Address|Leak)Sanitizer" "$S_LOG" 2>/dev/null | head -n 30
	# our processes and their children: an app's tree is the child of its
	# keeper (a fork of the daemon, which names D_DIR), and an app may
	# rewrite its own command line (redis-server does)
	for p in $(s_our_pids); do
		kill -KILL "$p" $(cat /proc/"$p"/task/*/children 2>/dev/null) 2>/dev/null
	done
	# the hold of asleep apps the daemon left (its queue's chain and set)
	if [ -s "$S_DIR/hold.queue" ]; then
		for f in ip ip6; do
			nft delete chain $f picocenter_hold "hold_$(cat "$S_DIR/hold.queue")" 2>/dev/null
			nft delete set $f picocenter_hold "hold_$(cat "$S_DIR/hold.queue")" 2>/dev/null
		done
	fi
	# boxes the daemon left (their cgroups, veths, nft elements, mounts)
	for n in "$S_DIR"/boxes/*/; do
		[ -d "$n" ] && "$PICOCENTER" box rm --box-dir "$S_DIR/boxes" "$(basename "$n")" >/dev/null
	done
	ip link del "$S_BRIDGE" 2>/dev/null
	d_cleanup
}

s_fail() {
	if [ -n "$S_LOG" ] && [ -s "$S_LOG" ]; then
		echo "--- last lines of the daemon's log:"
		tail -n 25 "$S_LOG"
	fi
	d_fail "$@"
}

# s_init NAME: work dir, cleanup trap, the daemon started.
s_init() {
	d_init "$1"
	trap s_cleanup EXIT
	S_DIR=$D_DIR/state
	S_LOG=$D_DIR/serve.log
	export PICOCENTER_STATE_DIR=$S_DIR
	s_start
}

# s_start [ARGS...]: start the daemon (with ARGS) and wait for its API.
s_start() {
	"$PICOCENTER" serve --state-dir "$S_DIR" --bridge "$S_BRIDGE" --subnet "${S_SUBNET:-$S_NET.0/24}" "$@" \
		>>"$S_LOG" 2>&1 &
	S_PID=$!
	disown "$S_PID"
	local i
	for i in $(seq 400); do
		[ -S "$S_DIR/api.sock" ] && "$PICOCENTER" app ls >/dev/null 2>&1 && return 0
		kill -0 "$S_PID" 2>/dev/null || s_fail "picocenter serve exited"
		sleep 0.025
	done
	s_fail "picocenter serve did not answer"
}

s_app() { "$PICOCENTER" app "$@"; }

# s_state NAME: the app's state.
s_state() {
	s_app inspect "$1" --json 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null
}

# s_field NAME EXPR: a field of `app inspect --json` (python expression on a).
s_field() {
	s_app inspect "$1" --json 2>/dev/null |
		python3 -c "import json,sys; a=json.load(sys.stdin); print($2)"
}

# s_wait_state NAME STATE [SECONDS]
s_wait_state() {
	local end=$((SECONDS + ${3:-20})) st
	while :; do
		st=$(s_state "$1")
		[ "$st" = "$2" ] && return 0
		[ "$st" = failed ] && [ "$2" != failed ] &&
			s_fail "app $1 failed: $(s_field "$1" 'a.get("error")')"
		[ $SECONDS -ge $end ] && s_fail "app $1 is '$st', not '$2' after ${3:-20} s"
		sleep 0.1
	done
}

# s_create NAME IDLE PORT CMD...: create a plain app (on the host's
# network, listening on PORT), fail the test if it fails.
s_create() {
	local name=$1 idle=$2 port=$3
	shift 3
	s_app create "$name" --runtime plain --port "$port" --idle "$idle" -- "$@" >/dev/null ||
		s_fail "app create $name failed"
}

# s_box_create NAME IDLE PORTSPEC... -- [OPTION... --] CMD...: create a
# boxed app with published ports (--port each) and more create options,
# fail the test if it fails.
s_box_create() {
	local name=$1 idle=$2 args=()
	shift 2
	while [ "$1" != -- ]; do args+=(--port "$1"); shift; done
	shift
	case $1 in --*) ;; *) set -- -- "$@" ;; esac
	s_app create "$name" "${args[@]}" --idle "$idle" "$@" >/dev/null ||
		s_fail "app create $name (boxed) failed"
}

# s_cycles APP CHECK...: CHECK DESC answers now, after a nap and after
# sleeping (an app with a short --idle and --sleep)
s_cycles() {
	local app=$1
	shift
	"$@" "$app before any swap"
	s_wait_state "$app" napping 30
	"$@" "$app after a nap"
	s_wait_state "$app" asleep 30
	"$@" "$app after sleeping"
	[ "$(s_field "$app" 'a["swaps"]')" -ge 2 ] || s_fail "$app: fewer than 2 swaps"
	d_log "$app: answered through a nap and a sleep"
}

# s_veth ADDR: the host end of the veth of the box with address ADDR;
# s_ifindex ADDR: its interface index now (to tell it from a later veth of
# the same name: other daemons on this machine may take the address as
# soon as it is free).
s_veth() { printf 'pc%02x%02x%02x%02x' ${1//./ }; }
s_ifindex() { cat "/sys/class/net/$(s_veth "$1")/ifindex" 2>/dev/null; }

# s_box_leftovers NAME ADDR [IFINDEX]: nothing of the box NAME (address
# ADDR, veth IFINDEX) is left: box dir, cgroup, mount, veth (it goes with
# the box's network namespace, which the kernel frees asynchronously:
# waited for a few seconds; without IFINDEX any veth of ADDR counts),
# nftables element (unless another box took the address meanwhile).
s_box_leftovers() {
	local n=$1 addr=$2 idx=${3:-} c i cur
	[ -e "$S_DIR/boxes/$n" ] && s_fail "box dir $S_DIR/boxes/$n left behind"
	c=$(find /sys/fs/cgroup -maxdepth 6 -type d \( -name "pcbox-$n" -o -name "pcbox-????????-$n" \) 2>/dev/null | head -1)
	[ -n "$c" ] && s_fail "cgroup $c left behind"
	grep -q "$S_DIR/boxes/$n/" /proc/self/mountinfo && s_fail "a mount is left under $S_DIR/boxes/$n"
	[ -n "$addr" ] || return 0
	for i in $(seq 50); do
		cur=$(s_ifindex "$addr")
		[ -z "$cur" ] || { [ -n "$idx" ] && [ "$cur" != "$idx" ]; } && break
		sleep 0.1
	done
	[ -n "$cur" ] && { [ -z "$idx" ] || [ "$cur" = "$idx" ]; } &&
		s_fail "veth $(s_veth "$addr") of $n left behind"
	[ -n "$cur" ] && return 0    # another box has the address now
	nft list table ip picocenter 2>/dev/null | grep -qw -- "$addr" &&
		s_fail "an nftables element with $addr ($n) is left"
	return 0
}

# Boxed configs: the daemon listens on every address of its box, on its
# usual port; the work dir is seen through the box's root (the host's /).
# s_box_conf_lighttpd, s_box_conf_redis, s_box_conf_dnsmasq: print the command.
s_box_conf_lighttpd() {
	s_conf_lighttpd box 80 >/dev/null
	sed -i '/^server.bind/d' "$D_DIR/lighttpd.box.conf"
	echo "lighttpd -D -f $D_DIR/lighttpd.box.conf"
}

s_box_conf_redis() {
	cat >"$D_DIR/redis.box.conf" <<EOC
port 6379
bind 0.0.0.0
protected-mode no
daemonize no
supervised no
dir /tmp
logfile ""
appendonly no
save ""
EOC
	echo "redis-server $D_DIR/redis.box.conf"
}

# dnsmasq listens its default way: wildcard sockets that learn each query's
# interface from IP_PKTINFO (interface=eth0, no bind-interfaces).
s_box_conf_dnsmasq() {
	cat >"$D_DIR/hosts" <<EOC
10.0.0.1 www.pico.test
10.0.0.2 mail.pico.test
EOC
	cat >"$D_DIR/dnsmasq.box.conf" <<EOC
keep-in-foreground
no-resolv
no-hosts
addn-hosts=$D_DIR/hosts
port=53
interface=eth0
pid-file=
user=nobody
log-facility=-
local=/pico.test/
EOC
	echo "dnsmasq --conf-file=$D_DIR/dnsmasq.box.conf"
}

now_ms() { echo $(($(now_us) / 1000)); }

# s_ports N: N distinct free ports in S_PORTS (d_port in this shell, so
# that it remembers what it handed out).
s_ports() {
	local i
	S_PORTS=()
	for i in $(seq "$1"); do
		d_port >"$D_DIR/.port" || exit 1
		S_PORTS+=("$(cat "$D_DIR/.port")")
	done
}

# s_conf_lighttpd N PORT: a lighttpd of its own (config $D_DIR/lighttpd.N.conf)
# serving $D_DIR/www; prints its command line.
s_conf_lighttpd() {
	[ -d "$D_DIR/www" ] || d_www
	cat >"$D_DIR/lighttpd.$1.conf" <<EOC
server.document-root = "$D_DIR/www"
server.bind = "127.0.0.1"
server.port = $2
server.errorlog = "$D_DIR/lighttpd.$1.log"
server.max-keep-alive-idle = 3600
server.modules = ( "mod_staticfile" )
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html", ".txt" => "text/plain" )
EOC
	echo "lighttpd -D -f $D_DIR/lighttpd.$1.conf"
}

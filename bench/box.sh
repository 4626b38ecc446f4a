#!/bin/bash
# box.sh - what a box costs: time and kernel memory; one JSON line each.
#
#   bench/box.sh [lighttpd|redis|netns...]     (default: all three)
#   RUNS=5 CYCLES=5 NETNS=20
#
# Per daemon (lighttpd, redis), measured in the same run, medians in ms,
# each from just before the command (bench/lib/timed.c) to the first
# correct answer of progs/dclient.c on a published 127.0.0.1 port:
#   create_to_response_ms   `cr spawn --name` (box creation + start)
#   restore_kept_box_ms     `cr restore` into the box its tree was dumped
#                           from (network namespace alive)
#   restore_woken_box_ms    `cr restore` into a box put to sleep after the
#                           dump (namespaces, veth, cgroup, mounts made
#                           again); its client starts when the restore
#                           returns (a SYN to a sleeping box is lost and
#                           retried after 1 s: holding it is the daemon's)
#   restore_no_box_ms       `cr restore` of the same daemon spawned without
#                           a box
#   kept_box_adds_ms, woken_box_adds_ms   the two box restores minus the
#                           one without a box
#   meets_target            kept adds < 1, woken adds < 5, and (lighttpd)
#                           create_to_response < 30
# Then one line "netns_cost", kernel memory per box in KiB, charged to a
# memory cgroup of the bench's own (cgroup v1 memory.kmem accounting, so
# other processes on the shared machine do not count): NETNS empty awake
# boxes (network namespace, veth, cgroup, mounts; no process), the same
# boxes asleep, and for comparison a bare network namespace and one with a
# veth pair (ip netns add, ip link add).
set -u
cd "$(dirname "$0")/.." || exit 1
export ROOT=$PWD
export PICOCENTER=${PICOCENTER:-$ROOT/build/picocenter}
RUNS=${RUNS:-5}
CYCLES=${CYCLES:-5}
NETNS=${NETNS:-20}
DAEMONS=("$@")
[ ${#DAEMONS[@]} -eq 0 ] && DAEMONS=(lighttpd redis netns)
make -s build/picocenter build/tests/daemons/dclient >&2 || exit 1
. bench/lib/build.sh
TIMED=$ROOT/build/bench/timed
DCLIENT=$ROOT/build/tests/daemons/dclient
bench_build "$ROOT/build/bench" timed || exit 1

W=$(mktemp -d /tmp/picocenter-bench-box.XXXXXX)
chmod 755 "$W"
BOXES=$W/boxes
BR=pcbb$$
NET=10.$((128 + $$ % 64)).$((($$ / 64) % 256))
PIDS=()
cleanup() {
	local p n
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for n in "$BOXES"/*/; do [ -d "$n" ] && "$PICOCENTER" box rm --box-dir "$BOXES" "$(basename "$n")"; done
	ip link del "$BR" 2>/dev/null
	# the bare namespaces of the netns_cost measure, if it was cut short
	for n in $(ip netns list | awk -v s="-$$" '$1 ~ /^pcbn/ && index($1, s) { print $1 }'); do
		ip netns del "$n"
	done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

die() { echo "bench/box.sh: $*" >&2; exit 1; }

port_free() {
	local hex f
	hex=$(printf '%04X' "$1")
	for f in /proc/net/tcp /proc/net/tcp6; do
		awk -v p=":$hex" 'NR > 1 && substr($2, length($2) - 4) == p { found = 1 }
			END { exit !found }' "$f" && return 1
	done
	return 0
}
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		port_free "$p" && { echo "$p"; return; }
	done
	die "no free port"
}

median_ms() {
	local m
	m=$(printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }')
	printf '%d.%03d' $((m / 1000)) $((m % 1000))
}

mkdir -p "$W/www"
echo -n "hello from picocenter" >"$W/www/index.html"
chmod -R a+rX "$W/www"

# conf DAEMON PORT: the daemon's command line, listening on PORT.
conf() {
	case $1 in
	lighttpd)
		printf 'server.document-root = "%s"\nserver.port = %s\nserver.modules = ( "mod_staticfile" )\n' \
			"$W/www" "$2" >"$W/lighttpd-$2.conf"
		echo "lighttpd -D -f $W/lighttpd-$2.conf" ;;
	redis)
		echo "redis-server --port $2 --bind 0.0.0.0 --protected-mode no --save '' --appendonly no --dir $W" ;;
	esac
}
app_port() { case $1 in lighttpd) echo 80 ;; redis) echo 6379 ;; esac; }
probe() {
	case $1 in
	lighttpd) PROBE=(http "$2" /index.html "hello from picocenter") ;;
	redis) PROBE=(redis "$2" get benchkey "${3:--}") ;;
	esac
}
times() { read -r T_START T_END <"$W/t"; }
gone() { while [ -d "/proc/$1" ]; do sleep 0.001; done; }

# spawn DAEMON HOSTPORT [BOXNAME]: start it (timed), PID = its host pid.
spawn() {
	local d=$1 hp=$2 name=${3:-} cmd
	if [ -n "$name" ]; then
		cmd=$(conf "$d" "$(app_port "$d")")
		PID=$("$TIMED" "$W/t" "$PICOCENTER" cr spawn --name "$name" --box-dir "$BOXES" \
			--bridge "$BR" --subnet "$NET.0/24" --port "127.0.0.1:$hp:$(app_port "$d")" \
			-- sh -c "exec $cmd") || die "spawn $d in a box"
	else
		cmd=$(conf "$d" "$hp")
		PID=$("$TIMED" "$W/t" "$PICOCENTER" cr spawn -- sh -c "exec $cmd") || die "spawn $d"
	fi
	PIDS+=("$PID")
	times
}

# cycle DAEMON HOSTPORT VAL [BOXNAME sleep]: dump PID, maybe put the box
# to sleep, restore timed to the first answer; appends µs to RESP.
cycle() {
	local d=$1 hp=$2 val=$3 name=${4:-} how=${5:-} tok probe
	rm -rf "$W/img"
	"$PICOCENTER" cr dump --pid "$PID" --dir "$W/img" --box-dir "$BOXES" || die "dump $d"
	gone "$PID"
	[ "$how" = sleep ] && { "$PICOCENTER" box sleep --box-dir "$BOXES" "$name" || die "box sleep"; }
	probe "$d" "$hp" "$val"
	# A sleeping box keeps its address and ports but has no host for them:
	# a SYN sent then is lost and retried a second later, so for a woken
	# box the client starts once the restore returned (still timed from
	# the restore's start).
	if [ "$how" != sleep ]; then
		"$DCLIENT" -w 10000 -i 100 -t 1000 -T "${PROBE[@]}" >"$W/tok" &
		probe=$!
	fi
	PID=$("$TIMED" "$W/t" "$PICOCENTER" cr restore --dir "$W/img" --box-dir "$BOXES") || die "restore $d"
	PIDS+=("$PID")
	times
	if [ "$how" = sleep ]; then
		"$DCLIENT" -w 10000 -i 100 -t 1000 -T "${PROBE[@]}" >"$W/tok" &
		probe=$!
	fi
	wait "$probe" || die "no answer from $d after restore"
	RESP+=($(($(<"$W/tok") - T_START)))
}

bench_daemon() {
	local d=$1 hp name val create=() kept=() woken=() nobox=() r
	for r in $(seq "$RUNS"); do
		hp=$(free_port)
		name=bb$r-$$
		probe "$d" "$hp"
		spawn "$d" "$hp" "$name"
		tok=$("$DCLIENT" -w 10000 -i 100 -T "${PROBE[@]}") || die "$d in a box: no answer"
		create+=($((tok - T_START)))
		"$PICOCENTER" box rm --box-dir "$BOXES" "$name" || die "box rm"
	done
	val=v$RANDOM$RANDOM
	for how in kept sleep none; do
		hp=$(free_port)
		RESP=()
		if [ $how = none ]; then
			spawn "$d" "$hp"
		else
			name=bc-$how-$$
			spawn "$d" "$hp" "$name"
		fi
		[ "$d" = redis ] && { "$DCLIENT" -w 10000 redis "$hp" set benchkey "$val" >/dev/null || die "redis set"; }
		probe "$d" "$hp" "$val"
		"$DCLIENT" -w 10000 "${PROBE[@]}" || die "$d: no answer before the dumps"
		for _ in $(seq "$CYCLES"); do
			if [ $how = none ]; then cycle "$d" "$hp" "$val"; else cycle "$d" "$hp" "$val" "$name" "$how"; fi
		done
		kill -KILL "$PID"
		[ $how != none ] && "$PICOCENTER" box rm --box-dir "$BOXES" "$name"
		case $how in kept) kept=("${RESP[@]}") ;; sleep) woken=("${RESP[@]}") ;; none) nobox=("${RESP[@]}") ;; esac
	done
	local c k w n
	c=$(median_ms "${create[@]}"); k=$(median_ms "${kept[@]}")
	w=$(median_ms "${woken[@]}"); n=$(median_ms "${nobox[@]}")
	awk -v d="$d" -v c="$c" -v k="$k" -v w="$w" -v n="$n" -v runs="$RUNS" -v cy="$CYCLES" 'BEGIN {
		ok = (k - n < 1 && w - n < 5 && (d != "lighttpd" || c < 30)) ? "true" : "false"
		printf "{\"bench\":\"box\",\"daemon\":\"%s\",\"create_to_response_ms\":%s,\"restore_kept_box_ms\":%s,\"restore_woken_box_ms\":%s,\"restore_no_box_ms\":%s,\"kept_box_adds_ms\":%.3f,\"woken_box_adds_ms\":%.3f,\"runs\":%d,\"cycles\":%d,\"meets_target\":%s}\n",
			d, c, k, w, n, k - n, w - n, runs, cy, ok }'
}

# The memory cgroup (v1) this shell is in: kernel memory is charged to it.
own_memcg() {
	local mnt path
	mnt=$(awk '$9 == "cgroup" && $NF ~ /(^|,)memory(,|$)/ { print $5; exit }' /proc/self/mountinfo)
	path=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/self/cgroup)
	[ -n "$mnt" ] && [ -f "$mnt$path/memory.kmem.usage_in_bytes" ] && echo "$mnt${path%/}"
}

kmem() { cat "$CG/memory.kmem.usage_in_bytes"; }

# NETNS empty boxes made from inside a memory cgroup of the bench's own:
# the kernel memory they take is charged there (awake: namespaces, veth,
# mounts, cgroups; asleep: after box sleep).  A bare network namespace and
# one with a veth (ip netns + ip link) are measured the same way.
bench_netns() {
	local parent k0 k1 k2 i awake asleep bare veth
	parent=$(own_memcg) || true
	if [ -z "$parent" ]; then
		echo '{"bench":"box","what":"netns_cost","error":"no cgroup v1 memory.kmem accounting here"}'
		return
	fi
	CG=$parent/pcbench-$$
	mkdir "$CG" || die "mkdir $CG"
	echo $$ >"$CG/cgroup.procs"
	k0=$(kmem)
	for i in $(seq "$NETNS"); do
		"$PICOCENTER" cr spawn --name "bn$i-$$" --box-dir "$BOXES" --bridge "$BR" \
			--subnet "$NET.0/24" -- true >/dev/null || die "box $i"
	done
	k1=$(kmem)
	for i in $(seq "$NETNS"); do "$PICOCENTER" box sleep --box-dir "$BOXES" "bn$i-$$"; done
	sleep 1
	k2=$(kmem)
	awake=$(((k1 - k0) / NETNS / 1024)); asleep=$(((k2 - k0) / NETNS / 1024))
	for i in $(seq "$NETNS"); do "$PICOCENTER" box rm --box-dir "$BOXES" "bn$i-$$"; done
	sleep 1
	k0=$(kmem)
	for i in $(seq "$NETNS"); do ip netns add "pcbn$i-$$"; done
	k1=$(kmem)
	for i in $(seq "$NETNS"); do
		ip link add "pcbv$i-$$" type veth peer name eth0 netns "pcbn$i-$$"
	done
	k2=$(kmem)
	bare=$(((k1 - k0) / NETNS / 1024)); veth=$(((k2 - k0) / NETNS / 1024))
	for i in $(seq "$NETNS"); do ip link del "pcbv$i-$$" 2>/dev/null; ip netns del "pcbn$i-$$"; done
	echo $$ >"$parent/cgroup.procs"
	printf '{"bench":"box","what":"netns_cost","boxes":%d,"awake_box_kernel_kib":%d,"asleep_box_kernel_kib":%d,"bare_netns_kernel_kib":%d,"netns_with_veth_kernel_kib":%d}\n' \
		"$NETNS" "$awake" "$asleep" "$bare" "$veth"
	rmdir "$CG" 2>/dev/null
}

for d in "${DAEMONS[@]}"; do
	case $d in
	lighttpd | redis) bench_daemon "$d" ;;
	netns) bench_netns ;;
	*) die "unknown daemon $d" ;;
	esac
done

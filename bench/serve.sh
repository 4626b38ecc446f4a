#!/bin/bash
# serve.sh - speed and density of `picocenter serve`; prints JSON lines.
#
#   bench/serve.sh                 RUNS=5 REVIVALS=50 MEM_APPS=200 DENSITY_APPS=200
#   PARTS="asleep density" bench/serve.sh     (apps asleep revivals memory density)
#
# One daemon on a temporary state dir (local store), apps deployed with
# `picocenter app create` as tests/serve does.  Measured in one run:
#
#   per app (lighttpd, redis, dnsmasq) and runtime (box: in a box of its
#   own, reached through a port published on 127.0.0.1; plain: on the
#   host's network), one line each:
#     cold_start_ms        `app create` of a fresh app until the first
#                          correct answer (a fresh start of the program)
#     running_ms           connect to first correct answer, app running
#                          (median of RUNS; dclient, a new connection each)
#     napping_ms           the same right after `app swap-out` (the request
#                          revives it; median of RUNS)
#     revival_adds_ms      napping_ms - running_ms; target < 10
#     swap_out_ms          the daemon's swap-out duration (median)
#     swap_in_ms           the daemon's swap-in duration (median)
#     asleep_ms            null: measured by the asleep part (below)
#   per boxed app (lighttpd, redis, dnsmasq), "runtime":"box", one line each:
#     running_ms           as above, through the published port
#     asleep_ms            the same once the app is asleep (--sleep 0: it
#                          falls asleep right after `app swap-out`; box torn
#                          down, first packet held; median of RUNS)
#     asleep_adds_ms       asleep_ms - running_ms; target < 25
#   revivals:  REVIVALS napping lighttpd apps reached at the same moment:
#              first byte p50/p99 and the daemon's swap-in p50/p99
#   memory:    MEM_APPS lighttpd apps deployed, then all napping: the drop
#              of MemAvailable per napping app (daemon + holders + kernel;
#              the machine is shared, so this is noisy), and the measured
#              PSS of the daemon and of the holders per app
#   density:   DENSITY_APPS boxed lighttpd apps deployed (default 200;
#              the issue asks 1000) in batches of DENSITY_BATCH (10), each
#              batch created (running: the kernel's growth per app, median
#              over the batches, and the PSS of the apps' processes and
#              keepers per app over the first 5 batches) then swapped out;
#              then all asleep (the
#              daemon restarted with PICOCENTER_PRESSURE_PCT=100: every
#              napping app falls asleep, 8 a second).  One line per tier:
#              the holder processes and their PSS (per app: PSS / apps),
#              the kernel's own memory per app (SUnreclaim + PageTables +
#              KernelStack + Percpu; napping: the median over the batches
#              of each batch's growth per app, and the whole growth from
#              before the first app / apps), napping_per_app_kb (holder
#              PSS per app + that median), the MemAvailable drop per app
#              (noisy on a shared machine), the daemon's PSS; asleep
#              measured once the kernel's memory settles (freed network
#              namespaces go in the background, at most 180 s), also
#              the state dir's boxes and apps on disk per app, the store
#              per app and the median image_bytes, the daemon's PSS and
#              anonymous memory per app (PSS also counts library code it
#              ran once); asleep_parts: per app, the growth of reclaimable
#              slab, of Percpu, of memory cgroups (dying ones count) and
#              of the daemon's fds, and the 12 slab caches that grew most
#              (KB per app, "r:" before a reclaimable one); then REVIVALS
#              of the asleep apps reached at the same moment: first byte
#              p50/p99; removed: the kernel memory that removing the
#              apps still asleep gave back, per app.  DENSITY_APPS=0
#              skips it.  DENSITY_SMAPS=PATH keeps the daemon's smaps
#              (PATH.0 before, PATH.1 asleep) and registry (PATH.db).
# Times come from dclient -T (the answer's CLOCK_REALTIME) and
# bench/lib/timed.c (just before the fork of the client).
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
RUNS=${RUNS:-5}
REVIVALS=${REVIVALS:-50}
MEM_APPS=${MEM_APPS:-200}
DENSITY_APPS=${DENSITY_APPS:-200}
PARTS=${PARTS:-apps asleep revivals memory density}   # which parts to run
# more than 250 boxed apps need more than the tests' /24
[ "$DENSITY_APPS" -gt 250 ] && S_SUBNET=10.$((128 + $$ % 64)).$(((($$ / 64) % 64) * 4)).0/22
. tests/serve/lib.sh
. bench/lib/build.sh
TIMED=$ROOT/build/bench/timed
bench_build "$ROOT/build/bench" timed || { echo "bench/serve.sh: cannot build timed" >&2; exit 1; }
d_need lighttpd redis-server dnsmasq
s_init bench-serve >&2

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; else printf "null" }'; }
pct() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { i = int((NR * p + 99) / 100); if (i < 1) i = 1; printf "%.3f", v[i] }'; }

# first_byte_us CLIENT ARGS...: µs from just before the client's fork to its
# correct answer.
first_byte_us() {
	local ans
	ans=$("$TIMED" "$D_DIR/t" "$DCLIENT" -T -t 20000 "$@") || return 1
	read -r ts _ <"$D_DIR/t"
	echo $((ans - ts))
}

client_args() {   # client_args KIND PORT [cold]: the request in CARGS
	case $1 in
	lighttpd) CARGS=(http "$2" /index.html "hello from picocenter") ;;
	redis) CARGS=(redis "$2" get benchkey v1)
		[ -n "${3:-}" ] && CARGS=(redis "$2" ping) ;;
	dnsmasq) CARGS=(dns "$2" www.pico.test 10.0.0.1) ;;
	esac
}

# box_ports KIND HOSTPORT: the --port options of a boxed KIND
box_ports() {
	case $1 in
	lighttpd) echo "--port 127.0.0.1:$2:80" ;;
	redis) echo "--port 127.0.0.1:$2:6379" ;;
	dnsmasq) echo "--port 127.0.0.1:$2:53/udp --port 127.0.0.1:$2:53/tcp" ;;
	esac
}

bench_app() {
	local kind=$1 runtime=$2 port name=b-$1-$2-$$ cmd opts t0 ans run=() nap=() outs=() ins=() i us
	s_ports 1
	port=${S_PORTS[0]}
	if [ "$runtime" = box ]; then
		cmd=$(s_box_conf_"$kind")
		opts=$(box_ports "$kind" "$port")
	else
		cmd=$(d_conf_"$kind" "$port")
		opts="--runtime plain --port $port"
	fi
	client_args "$kind" "$port" cold
	t0=$(now_us)
	s_app create "$name" $opts --idle 10m -- $cmd >/dev/null || s_fail "create $name"
	ans=$("$DCLIENT" -T -w 10000 "${CARGS[@]}") || s_fail "$name does not answer"
	local cold=$(((ans - t0)))
	[ "$kind" = redis ] && "$DCLIENT" redis "$port" set benchkey v1 >/dev/null
	client_args "$kind" "$port"
	for i in $(seq "$RUNS"); do
		us=$(first_byte_us "${CARGS[@]}") || s_fail "$name running: no answer"
		run+=("$us")
		s_app swap-out "$name" >/dev/null || s_fail "swap-out $name"
		outs+=("$(s_field "$name" 'a["last_swap_out"]["ms"]')")
		us=$(first_byte_us "${CARGS[@]}") || s_fail "$name napping: no answer"
		nap+=("$us")
		s_wait_state "$name" running 10
		ins+=("$(s_field "$name" 'a["last_swap_in"]["ms"]')")
	done
	local rm nm
	rm=$(printf '%s\n' "${run[@]}" | awk '{ print $1 / 1000 }' | median)
	nm=$(printf '%s\n' "${nap[@]}" | awk '{ print $1 / 1000 }' | median)
	printf '{"bench":"serve","app":"%s","runtime":"%s","cold_start_ms":%.3f,"running_ms":%s,"napping_ms":%s,"revival_adds_ms":%.3f,"swap_out_ms":%s,"swap_in_ms":%s,"asleep_ms":null,"meets_target":%s}\n' \
		"$kind" "$runtime" "$(echo "$cold" | awk '{ print $1 / 1000 }')" "$rm" "$nm" \
		"$(echo "$nm $rm" | awk '{ print $1 - $2 }')" \
		"$(printf '%s\n' "${outs[@]}" | median)" "$(printf '%s\n' "${ins[@]}" | median)" \
		"$(echo "$nm $rm" | awk '{ print ($1 - $2 < 10) ? "true" : "false" }')"
	s_app rm "$name" >/dev/null
}

# A boxed app that falls asleep right after each swap-out: first byte
# running, then asleep (box torn down, first packet held).
bench_asleep_app() {
	local kind=$1 port name=a-$1 run=() slp=() i us rm am
	s_ports 1
	port=${S_PORTS[0]}
	s_app create "$name" $(box_ports "$kind" "$port") --idle 10m --sleep 0 -- \
		$(s_box_conf_"$kind") >/dev/null || s_fail "create $name (boxed)"
	client_args "$kind" "$port" cold
	"$DCLIENT" -T -w 10000 "${CARGS[@]}" >/dev/null || s_fail "$name does not answer"
	[ "$kind" = redis ] && "$DCLIENT" redis "$port" set benchkey v1 >/dev/null
	client_args "$kind" "$port"
	for i in $(seq "$RUNS"); do
		us=$(first_byte_us "${CARGS[@]}") || s_fail "$name running: no answer"
		run+=("$us")
		s_app swap-out "$name" >/dev/null || s_fail "swap-out $name"
		s_wait_state "$name" asleep 30
		us=$(first_byte_us "${CARGS[@]}") || s_fail "$name asleep: no answer"
		slp+=("$us")
		s_wait_state "$name" running 10
	done
	rm=$(printf '%s\n' "${run[@]}" | awk '{ print $1 / 1000 }' | median)
	am=$(printf '%s\n' "${slp[@]}" | awk '{ print $1 / 1000 }' | median)
	printf '{"bench":"serve","app":"%s","runtime":"box","running_ms":%s,"asleep_ms":%s,"asleep_adds_ms":%.3f,"meets_target":%s}\n' \
		"$kind" "$rm" "$am" "$(echo "$am $rm" | awk '{ print $1 - $2 }')" \
		"$(echo "$am $rm" | awk '{ print ($1 - $2 < 25) ? "true" : "false" }')"
	s_app rm "$name" >/dev/null
}

# revive_at_once LABEL PREFIX I...: the lighttpd apps PREFIX<I> (port
# S_PORTS[I-1]) reached at the same moment; one JSON line.
revive_at_once() {
	local label=$1 pre=$2 i t0 p
	shift 2
	t0=$(now_us)
	for i in "$@"; do
		"$DCLIENT" -T -t 30000 http "${S_PORTS[$((i - 1))]}" /index.html "hello from picocenter" \
			>"$D_DIR/rev.$i" 2>&1 &
	done
	wait
	for i in "$@"; do
		p=$(cat "$D_DIR/rev.$i")
		[[ $p =~ ^[0-9]+$ ]] || s_fail "$pre$i: $p"
		echo $(((p - t0)))
	done | awk '{ print $1 / 1000 }' >"$D_DIR/rev.ms"
	for i in "$@"; do s_field "$pre$i" 'a["last_swap_in"]["ms"]'; done >"$D_DIR/rev.in"
	printf '{"bench":"serve","%s":%d,"first_byte_p50_ms":%s,"first_byte_p99_ms":%s,"swap_in_p50_ms":%s,"swap_in_p99_ms":%s}\n' \
		"$label" "$#" "$(pct 50 <"$D_DIR/rev.ms")" "$(pct 99 <"$D_DIR/rev.ms")" \
		"$(pct 50 <"$D_DIR/rev.in")" "$(pct 99 <"$D_DIR/rev.in")"
}

bench_revivals() {
	local n=$REVIVALS i
	s_ports "$n"
	[ -d "$D_DIR/www" ] || d_www
	for i in $(seq "$n"); do
		s_app create "r$i" --runtime plain --port "${S_PORTS[$((i - 1))]}" --idle 10m -- \
			$(s_conf_lighttpd "r$i" "${S_PORTS[$((i - 1))]}") >/dev/null &
	done
	wait
	for i in $(seq "$n"); do s_app swap-out "r$i" >/dev/null & done
	wait
	for i in $(seq "$n"); do [ "$(s_state "r$i")" = napping ] || s_fail "r$i is not napping"; done
	revive_at_once revivals_at_once r $(seq "$n")
	for i in $(seq "$n"); do s_app rm "r$i" >/dev/null & done
	wait
}

avail_kb() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }
# the kernel's own memory that it cannot reclaim: unreclaimable slab, page
# tables, kernel stacks, per-cpu (dentry and inode caches are reclaimable)
kernel_kb() { awk '/^(SUnreclaim|PageTables|KernelStack|Percpu):/ { s += $2 } END { print s }' /proc/meminfo; }
percpu_kb() { awk '/^Percpu:/ { print $2 }' /proc/meminfo; }
# memory cgroups the kernel keeps (cgroup v1: removed ones whose pages
# are still charged count too)
memcgs() { awk '$1 == "memory" { print $3 }' /proc/cgroups; }
pss_kb() { awk '/^Pss:/ { s += $2 } END { print s + 0 }' "/proc/$1/smaps_rollup" 2>/dev/null; }
# anon_kb PID: its anonymous memory (heap, arenas, stacks): what grows
# with its apps; its PSS also counts its libraries' code, which grows with
# the code paths it ran, once
anon_kb() { awk '/^Anonymous:/ { s += $2 } END { print s + 0 }' "/proc/$1/smaps_rollup" 2>/dev/null; }
sreclaimable_kb() { awk '/^SReclaimable:/ { print $2 }' /proc/meminfo; }
# slab_snap: "CACHE KB" per slab cache (its slabs' pages), "r:" before
# the name of a reclaimable one (dentries, inodes: the kernel frees them
# under memory pressure)
slab_snap() {
	local n kb
	awk 'NR > 2 { print $1, $15 * $6 * 4 }' /proc/slabinfo | while read -r n kb; do
		[ "$(cat "/sys/kernel/slab/$n/reclaim_account" 2>/dev/null)" = 1 ] && n=r:$n
		echo "$n $kb"
	done
}
# slab_growth BEFORE AFTER N: the 12 caches that grew most, KB per app, as
# a JSON object
slab_growth() {
	awk -v n="$3" 'NR == FNR { b[$1] = $2; next } { d = ($2 - b[$1]) / n; if (d > 0.05 || d < -0.05) printf "%s %.2f\n", $1, d }' "$1" "$2" |
		sort -k2 -gr | head -12 | awk 'BEGIN { printf "{" } { printf "%s\"%s\":%s", (NR > 1 ? "," : ""), $1, $2 } END { printf "}" }'
}

bench_memory() {
	local n=$MEM_APPS i before after hold=0 p
	s_ports "$n"
	before=$(avail_kb)
	for i in $(seq "$n"); do
		s_app create "m$i" --runtime plain --port "${S_PORTS[$((i - 1))]}" --idle 10m -- \
			$(s_conf_lighttpd "m$i" "${S_PORTS[$((i - 1))]}") >/dev/null &
		[ $((i % 20)) = 0 ] && wait
	done
	wait
	for i in $(seq "$n"); do
		s_app swap-out "m$i" >/dev/null &
		[ $((i % 20)) = 0 ] && wait
	done
	wait
	sync
	sleep 2
	after=$(avail_kb)
	for p in $(s_our_pids); do
		tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q '^picocenter cr hold' &&
			hold=$((hold + $(pss_kb "$p")))
	done
	printf '{"bench":"serve","napping_apps":%d,"mem_available_drop_per_app_kb":%d,"daemon_pss_kb":%d,"holder_pss_per_app_kb":%d,"asleep_per_app_kb":null}\n' \
		"$n" $(((before - after) / n)) "$(pss_kb "$S_PID")" $((hold / n))
	for i in $(seq "$n"); do
		s_app rm "m$i" >/dev/null &
		[ $((i % 20)) = 0 ] && wait
	done
	wait
}

holders_pss_kb() {
	local p hold=0
	for p in $(s_our_pids); do
		tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q '^picocenter cr hold' &&
			hold=$((hold + $(pss_kb "$p")))
	done
	echo "$hold"
}

# wait_all STATE N: every app d1..dN in STATE or failed (s_wait_state is
# too slow for a thousand: one `app ls`); IN_STATE = how many are in STATE.
wait_all() {
	local end=$((SECONDS + 60 + $2 / 4)) f
	while :; do
		s_app ls >"$D_DIR/ls"
		IN_STATE=$(awk -v s="$1" '$1 ~ /^d[0-9]+$/ && $2 == s' "$D_DIR/ls" | wc -l)
		f=$(awk '$1 ~ /^d[0-9]+$/ && $2 == "failed"' "$D_DIR/ls" | wc -l)
		[ $((IN_STATE + f)) -ge "$2" ] && return 0
		[ $SECONDS -ge $end ] && s_fail "only $IN_STATE of $2 apps are $1 ($f failed)"
		sleep 1
	done
}

# density_create FIRST LAST: apps dFIRST..dLAST created (all at once)
density_create() {
	local j
	for j in $(seq "$1" "$2"); do
		s_app create "d$j" --port "127.0.0.1:${S_PORTS[$((j - 1))]}:80" --idle 10m -- \
			$DENSITY_CMD >/dev/null || s_fail "create d$j" &
	done
	wait
}

# density_swap_out FIRST LAST: apps dFIRST..dLAST swapped out (all at once)
density_swap_out() {
	local j
	for j in $(seq "$1" "$2"); do s_app swap-out "d$j" >/dev/null & done
	wait
}

# apps_pss_kb: PSS of the apps' processes and their keepers (every process
# of this run but the daemon, its engine children and the holder)
apps_pss_kb() {
	local p s=0 pp
	for p in $(s_our_pids); do
		pp=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null)
		[ "$p" = "$S_PID" ] || [ "$pp" = "$S_PID" ] && continue
		tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q '^picocenter cr hold' && continue
		s=$((s + $(pss_kb "$p")))
	done
	echo "$s"
}

# settled_kernel_kb: the kernel's memory once it stops moving (freed
# network namespaces go in the background, slowly for hundreds): sampled
# every 5 s until two samples are within 2 MB, at most 180 s
settled_kernel_kb() {
	local a b t=0
	a=$(kernel_kb)
	while [ "$t" -lt 180 ]; do
		sleep 5
		t=$((t + 5))
		b=$(kernel_kb)
		[ $((a - b)) -lt 2048 ] && [ $((b - a)) -lt 2048 ] && break
		a=$b
	done
	echo "$b"
}

# holders_count: custody holder processes of this run
holders_count() {
	local p c=0
	for p in $(s_our_pids); do
		tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q '^picocenter cr hold' && c=$((c + 1))
	done
	echo "$c"
}

bench_density() {
	local n=$DENSITY_APPS b=${DENSITY_BATCH:-10} i last before nap slp nap_hold nap_pss m=$REVIVALS
	local a napping asleep kbefore k0 k1 knap kslp kmed nholders disk store pss0 cg0 sr0 pc0 fd0 an0 an1 krm
	[ "$n" -gt 0 ] || return 0
	[ "$m" -gt "$n" ] && m=$n
	s_ports "$n"
	DENSITY_CMD=$(s_box_conf_lighttpd)
	sync
	before=$(avail_kb)
	kbefore=$(kernel_kb)
	k0=$kbefore
	pss0=$(pss_kb "$S_PID")
	an0=$(anon_kb "$S_PID")
	cg0=$(memcgs)
	sr0=$(sreclaimable_kb)
	pc0=$(percpu_kb)
	[ -n "${DENSITY_SMAPS:-}" ] && cp "/proc/$S_PID/smaps" "$DENSITY_SMAPS.0"
	fd0=$(ls "/proc/$S_PID/fd" | wc -l)
	slab_snap >"$D_DIR/slab.0"
	: >"$D_DIR/knap.batch"
	: >"$D_DIR/krun.batch"
	: >"$D_DIR/prun.batch"
	# in batches of b: the kernel's memory per app of each batch running,
	# the PSS of its processes, then the kernel's once they nap
	for ((i = 1; i <= n; i += b)); do
		last=$((i + b - 1))
		[ "$last" -gt "$n" ] && last=$n
		density_create "$i" "$last"
		k1=$(kernel_kb)
		echo $(((k1 - k0) / (last - i + 1))) >>"$D_DIR/krun.batch"
		[ "$i" -le $((5 * b)) ] && echo $(($(apps_pss_kb) / (last - i + 1))) >>"$D_DIR/prun.batch"
		density_swap_out "$i" "$last"
		k1=$(kernel_kb)
		echo $(((k1 - k0) / (last - i + 1))) >>"$D_DIR/knap.batch"
		k0=$k1
	done
	printf '{"bench":"serve","density_apps":%d,"tier":"running","kernel_per_app_kb_median":%s,"apps_pss_per_app_kb":%s,"running_per_app_kb":%.1f}\n' \
		"$n" "$(median <"$D_DIR/krun.batch")" "$(median <"$D_DIR/prun.batch")" \
		"$(echo "$(median <"$D_DIR/krun.batch") $(median <"$D_DIR/prun.batch")" | awk '{ print $1 + $2 }')"
	wait_all napping "$n"
	napping=$IN_STATE
	sync
	sleep 2
	nap=$(avail_kb)
	knap=$(kernel_kb)
	kmed=$(median <"$D_DIR/knap.batch")
	nap_hold=$(holders_pss_kb)
	nholders=$(holders_count)
	nap_pss=$(pss_kb "$S_PID")
	printf '{"bench":"serve","density_apps":%d,"tier":"napping","napping":%d,"holders":%d,"holder_pss_kb":%d,"holder_pss_per_app_kb":%.1f,"kernel_per_app_kb_median":%s,"kernel_per_app_kb":%d,"napping_per_app_kb":%.1f,"mem_available_drop_per_app_kb":%d,"daemon_pss_kb":%d}\n' \
		"$n" "$napping" "$nholders" "$nap_hold" "$(echo "$nap_hold $napping" | awk '{ print $1 / $2 }')" \
		"$kmed" $(((knap - kbefore) / n)) \
		"$(echo "$nap_hold $napping $kmed" | awk '{ print $1 / $2 + $3 }')" \
		$(((before - nap) / n)) "$nap_pss"
	# every napping app falls asleep: the daemon again, under "pressure"
	kill -TERM "$S_PID"
	while kill -0 "$S_PID" 2>/dev/null; do sleep 0.1; done
	PICOCENTER_PRESSURE_PCT=100 s_start
	wait_all asleep "$n"
	asleep=$IN_STATE
	kill -TERM "$S_PID"
	while kill -0 "$S_PID" 2>/dev/null; do sleep 0.1; done
	s_start                 # no pressure any more: nothing is put to sleep
	sync
	kslp=$(settled_kernel_kb)
	slp=$(avail_kb)
	disk=$(du -sk "$S_DIR/boxes" "$S_DIR/apps" | awk '{ s += $1 } END { print s }')
	store=$(du -sk "$S_DIR/store" | awk '{ print $1 }')
	an1=$(anon_kb "$S_PID")
	printf '{"bench":"serve","density_apps":%d,"tier":"asleep","asleep":%d,"holders":%d,"holder_pss_kb":%d,"kernel_per_app_kb":%d,"daemon_pss_per_app_kb":%.1f,"daemon_anon_per_app_kb":%.1f,"asleep_per_app_kb":%.1f,"dying_memcgs_per_app":%.2f,"mem_available_drop_per_app_kb":%d,"daemon_pss_kb":%d,"disk_per_app_kb":%d,"store_per_app_kb":%d,"image_bytes_median":%s}\n' \
		"$n" "$asleep" "$(holders_count)" "$(holders_pss_kb)" $(((kslp - kbefore) / n)) \
		"$(echo "$(pss_kb "$S_PID") $pss0 $n" | awk '{ print ($1 - $2) / $3 }')" \
		"$(echo "$an1 $an0 $n" | awk '{ print ($1 - $2) / $3 }')" \
		"$(echo "$an1 $an0 $n $kslp $kbefore" | awk '{ print ($1 - $2) / $3 + ($4 - $5) / $3 }')" \
		"$(echo "$(memcgs) $cg0 $n" | awk '{ print ($1 - $2) / $3 }')" \
		$(((before - slp) / n)) "$(pss_kb "$S_PID")" $((disk / n)) $((store / n)) \
		"$(curl -s --max-time 30 --unix-socket "$S_DIR/api.sock" http://serve/apps | python3 -c 'import json,sys; v=sorted(a.get("image_bytes",0) for a in json.load(sys.stdin)); print(v[len(v)//2] if v else "null")' 2>/dev/null || echo null)"
	slab_snap >"$D_DIR/slab.1"
	[ -n "${DENSITY_SMAPS:-}" ] && cp "/proc/$S_PID/smaps" "$DENSITY_SMAPS.1" && cp "$S_DIR/registry.db" "$DENSITY_SMAPS.db"
	printf '{"bench":"serve","density_apps":%d,"tier":"asleep_parts","sreclaimable_per_app_kb":%.1f,"percpu_per_app_kb":%.1f,"memcgs_per_app":%.2f,"daemon_fds_per_app":%.2f,"slab_growth_per_app_kb":%s}\n' \
		"$n" "$(echo "$(sreclaimable_kb) $sr0 $n" | awk '{ print ($1 - $2) / $3 }')" \
		"$(echo "$(percpu_kb) $pc0 $n" | awk '{ print ($1 - $2) / $3 }')" \
		"$(echo "$(memcgs) $cg0 $n" | awk '{ print ($1 - $2) / $3 }')" \
		"$(echo "$(ls "/proc/$S_PID/fd" | wc -l) $fd0 $n" | awk '{ print ($1 - $2) / $3 }')" \
		"$(slab_growth "$D_DIR/slab.0" "$D_DIR/slab.1" "$n")"
	revive_at_once asleep_revivals_at_once d \
		$(s_app ls | awk '$1 ~ /^d[0-9]+$/ && $2 == "asleep" { print substr($1, 2) }' | head -n "$m")
	# the revived ones go first; then what removing the asleep ones gives
	# back: a second estimate of an asleep app's kernel memory, less
	# exposed to the others' work than the growth since the first app
	s_app ls | awk '$1 ~ /^d[0-9]+$/ && $2 != "asleep" { print $1 }' >"$D_DIR/awake"
	while read -r i; do s_app rm "$i" >/dev/null; done <"$D_DIR/awake"
	asleep=$(s_app ls | awk '$1 ~ /^d[0-9]+$/' | wc -l)
	krm=$(settled_kernel_kb)
	i=0
	for a in $(s_app ls | awk '$1 ~ /^d[0-9]+$/ { print $1 }'); do
		s_app rm "$a" >/dev/null &
		i=$((i + 1))
		[ $((i % 10)) = 0 ] && wait
	done
	wait
	[ "$asleep" -gt 0 ] && printf '{"bench":"serve","density_apps":%d,"tier":"removed","asleep_removed":%d,"kernel_freed_per_app_kb":%d,"memcgs_per_app":%.2f}\n' \
		"$n" "$asleep" $(((krm - $(settled_kernel_kb)) / asleep)) "$(echo "$(memcgs) $cg0 $n" | awk '{ print ($1 - $2) / $3 }')"
}

part() { [[ " $PARTS " == *" $1 "* ]]; }
if part apps; then
	for kind in lighttpd redis dnsmasq; do
		bench_app "$kind" box
		bench_app "$kind" plain
	done
fi
if part asleep; then for k in lighttpd redis dnsmasq; do bench_asleep_app "$k"; done; fi
if part revivals; then bench_revivals; fi
if part memory; then bench_memory; fi
if part density; then bench_density; fi

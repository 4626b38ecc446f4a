# lib_run.sh - workers that run apps, for t-run.sh and bench/hub.sh (after
# lib.sh): each `picocenter worker` is a machine of its own, as far as one
# machine can make it:
#
#   - its own network namespace (hrNAME-PID, forwarding on, as a worker
#     whose published ports clients reach must have) with one address on a veth
#     whose host end is on a bridge of the test's own (hrbPID, HR_NET.1/24:
#     the clients on the host reach the workers' addresses through it);
#   - its own cgroups (hrNAME-PID under this shell's own in each v1
#     hierarchy), so its boxes' cgroups are its own and killing it kills
#     every process it had (hr_kill: the machine dies);
#   - its own mount namespace with /sys of its network namespace and a
#     /run/picocenter of its own (the box's machine-wide locks and flags);
#   - its boxes on a subnet of the test's own (HR_BOXNET: packets from them
#     must not look like the host's own boxes' to the host's rules);
#   - its own state dir, $D_DIR/w-NAME (kept when its machine dies: an app
#     revived elsewhere still writes its log at the path its box's record
#     names; on real machines every worker uses the same path);
#   - the store: radosgw (the S3 suite's if it runs, else one of the
#     test's own), reached through bench/delayproxy on the bridge's host
#     address (HR_DELAY_MS added to each request, 0 by default), under a
#     prefix of the test's own, emptied at exit.
#
#   HR_ADDR[NAME]   the address of worker NAME
#   HR_LOGS         (set by the caller) a dir the logs are copied to at exit
#   HR_STORE        the store URL the workers use

HR_NET=10.251.$(($$ % 200 + 20))
HR_BOXNET=10.252.$(($$ % 200 + 20)).0/24   # the workers' boxes: apart from the host's own
HR_BR=hrb$$
HR_DELAY_MS=${HR_DELAY_MS:-0}
HR_CG=
HR_PROXY= HR_OWN_S3=
declare -A HR_ADDR HR_WPID
HR_N=0
HR_HUB=${HR_HUB:-a}   # the hub the helpers below ask

hr_cleanup() {
	local rc=$? n
	[ -n "${HR_LOGS:-}" ] && mkdir -p "$HR_LOGS" && cp "$D_DIR"/*.hub.log "$HR_LOGS"/ 2>/dev/null
	for n in "${!HR_ADDR[@]}"; do
		hr_kill "$n"
	done
	[ -n "$HR_STORE" ] && hr_store_empty
	[ -n "$HR_PROXY" ] && kill "$HR_PROXY" 2>/dev/null
	ip link del "$HR_BR" 2>/dev/null
	[ -n "$HR_OWN_S3" ] && PICOCENTER_S3_DIR=$HR_OWN_S3 "$ROOT/scripts/s3-server.sh" stop >/dev/null 2>&1
	(exit $rc)
	h_cleanup
}

# hr_init NAME: h_init, the bridge, the store.
hr_init() {
	h_init "$1"
	trap hr_cleanup EXIT
	d_need redis-server redis-cli nsenter unshare ip
	ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
	# its MAC set, not taken from its lowest port: else a worker's death
	# (its veth gone) can change it, and the other workers' neighbour
	# entries for HR_NET.1 go stale: the store unreachable for seconds
	ip link add "$HR_BR" type bridge &&
		ip link set "$HR_BR" address "$(printf '02:68:72:%02x:%02x:%02x' $(($$ >> 16 & 255)) $(($$ >> 8 & 255)) $(($$ & 255)))" &&
		ip addr add "$HR_NET.1/24" dev "$HR_BR" &&
		ip link set "$HR_BR" up || h_fail "bridge $HR_BR"
	hr_store
}

# The S3 server's environment; a server of our own if none runs.
hr_store() {
	local env=${TEST_TMP:-/tmp}/s3.env
	if [ -f "$env" ] && (. "$env" && PICOCENTER_S3_DIR=$PICOCENTER_S3_DIR "$ROOT/scripts/s3-server.sh" status); then
		. "$env"
	else
		HR_OWN_S3=$D_DIR/s3
		PICOCENTER_S3_DIR=$HR_OWN_S3 "$ROOT/scripts/s3-server.sh" start >"$D_DIR/s3.env" ||
			h_fail "cannot start radosgw"
		. "$D_DIR/s3.env"
	fi
	"$ROOT/build/tests/s3/u-s3" mb pctest >/dev/null 2>&1
	. "$ROOT/bench/lib/delayproxy.sh"
	delayproxy_start "$ROOT" "$D_DIR/proxy.port" -t "${AWS_ENDPOINT_URL#http://}" \
		-b "$HR_NET.1" -d "$HR_DELAY_MS" || h_fail "delayproxy: see above"
	HR_PROXY=$DELAYPROXY_PID
	export AWS_ENDPOINT_URL=http://$HR_NET.1:$DELAYPROXY_PORT
	HR_STORE=s3://pctest/hr-$$
}

# Remove every image the workers stored, then their chunks.
hr_store_empty() {
	local img
	for img in $(AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL "$PICOCENTER" store ls --store "$HR_STORE" 2>/dev/null |
		awk 'NR > 1 || $1 != "IMAGE" { print $1 }'); do
		"$PICOCENTER" store rm --store "$HR_STORE" --image "$img" >/dev/null 2>&1
	done
	"$PICOCENTER" store gc --store "$HR_STORE" --grace 0 >/dev/null 2>&1
}

# The cgroup dirs of worker NAME, one per v1 hierarchy.
hr_cgroups() {
	local line ctl path
	while IFS=: read -r _ ctl path; do
		case "$ctl" in
		freezer|memory|pids|cpu,cpuacct|cpu|cpuacct) ;;
		"") ctl=unified ;;
		*) continue ;;
		esac
		ctl=${ctl%%,*}
		[ -d "/sys/fs/cgroup/$ctl" ] && echo "/sys/fs/cgroup/$ctl${path%/}/hr$1-$$"
	done </proc/self/cgroup
}

# hr_worker NAME HUB WTOKEN [ARGS...]: start worker NAME (its address
# HR_NET.(10+i)), ARGS added to its command line.
hr_worker() {
	local name=$1 hub=$2 wtok=$3 ns=hr$1-$$ addr cg dir=$D_DIR/w-$1
	shift 3
	HR_N=$((HR_N + 1))
	addr=$HR_NET.$((10 + HR_N))
	HR_ADDR[$name]=$addr
	ip netns add "$ns" || h_fail "netns $ns"
	ip link add "hrv$HR_N$$" type veth peer name eth0 netns "$ns" &&
		ip link set "hrv$HR_N$$" master "$HR_BR" up &&
		ip -n "$ns" addr add "$addr/24" dev eth0 && ip -n "$ns" link set eth0 up &&
		ip -n "$ns" link set lo up && ip -n "$ns" route add default via "$HR_NET.1" &&
		ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 ||
		h_fail "veth for $name"
	for cg in $(hr_cgroups "$name"); do
		mkdir -p "$cg" || h_fail "mkdir $cg"
	done
	mkdir -p "$dir"
	(
		for cg in $(hr_cgroups "$name"); do
			echo "$BASHPID" >"$cg/cgroup.procs" || exit 1
		done
		exec nsenter --net=/run/netns/"$ns" unshare -m --propagation private sh -c '
			mkdir -p /run/hr-cg-'$$' && mount --rbind /sys/fs/cgroup /run/hr-cg-'$$' &&
			mount -t sysfs sysfs /sys && mount --move /run/hr-cg-'$$' /sys/fs/cgroup &&
			mkdir -p /run/picocenter && mount -t tmpfs -o mode=0755 hrrun /run/picocenter ||
			exit 1
			exec "$@"' hrworker \
			"$PICOCENTER" worker --hub "$hub" --token "$wtok" --state-dir "$dir" \
			--name "$name" --address "$addr" --store "$HR_STORE" --subnet "$HR_BOXNET" "$@"
	) >>"$D_DIR/$name.hub.log" 2>&1 &
	HR_WPID[$name]=$!
	disown "$!"
}

# hr_kill NAME: worker NAME's machine dies: every process in its cgroups
# gets SIGKILL, then its cgroups and network namespace go.
hr_kill() {
	local name=$1 cg i pids d
	[ -n "${HR_WPID[$name]:-}" ] || return 0
	for i in $(seq 50); do
		pids=
		for cg in $(hr_cgroups "$name"); do
			[ -d "$cg" ] && pids+=" $(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null)"
		done
		pids=$(echo $pids)
		[ -z "$pids" ] && break
		kill -KILL $pids 2>/dev/null
		sleep 0.05
	done
	for cg in $(hr_cgroups "$name"); do
		[ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	ip netns del "hr$name-$$" 2>/dev/null
	rm -rf /run/hr-cg-$$ 2>/dev/null
	HR_WPID[$name]=
}

# hr_wait_state NAME TOKEN STATE: worker NAME is STATE (up, down).
hr_wait_state() {
	local st i
	for i in $(seq 200); do
		st=$(h_expect 200 "$HR_HUB" "$2" GET /workers | h_json "[w['state'] for w in j if w['name']=='$1'] or ['-']" 2>/dev/null)
		[ "$st" = "['$3']" ] && return 0
		sleep 0.05
	done
	h_fail "worker $1 is $st, not $3"
}

hr_wait_up() { hr_wait_state "$1" "$2" up; }
hr_wait_down() { hr_wait_state "$1" "$2" down; }

# hr_app TOKEN NAME EXPR: evaluate EXPR on app NAME's record (j).
hr_app() {
	h_expect 200 "$HR_HUB" "$1" GET "/apps/$2" | h_json "$3"
}

# hr_wait_app TOKEN NAME EXPR [TRIES]: until EXPR on the record is True.
hr_wait_app() {
	local i got
	for i in $(seq "${4:-300}"); do
		got=$(hr_app "$1" "$2" "$3" 2>/dev/null)
		[ "$got" = True ] && return 0
		sleep 0.05
	done
	h_fail "app $2: $3 is not true: $(h_expect 200 "$HR_HUB" "$1" GET "/apps/$2")"
}

#!/bin/bash
# daemons.sh - swap-in speed of real daemons; prints one JSON line each.
#
#   bench/daemons.sh [DAEMON...]     (default: lighttpd nginx redis memcached dnsmasq pyhttp
#                                     postfix dovecot)
#   RUNS=5 CYCLES=5                  cold starts and dump/restore cycles
#   RESTORE_ARGS=--eager             extra arguments of every `cr restore`
#
# Each daemon runs as in tests/daemons (lib.sh: same configurations, free
# loopback ports, `picocenter cr spawn`).  Per daemon, measured in the same
# run:
#   cold_start_ms           from `cr spawn` of a fresh daemon to its first
#                           correct response (median of RUNS)
#   dump_ms                 `cr dump` of the running daemon (median of CYCLES)
#   restore_cmd_ms          `cr restore` until it returned (median)
#   restore_to_response_ms  from the start of `cr restore` to the first
#                           correct response (median of CYCLES)
#   speedup                 cold_start_ms / restore_to_response_ms
#   meets_target            restore_to_response_ms < 10, and speedup >= 5
#                           where cold_start_ms > 50
#   pss_anon_kib_before     the tree's summed anonymous Pss (smaps_rollup)
#                           before the first dump, and after the restores'
#   pss_anon_kib_after      first responses (median): prefork workers keep
#                           sharing their master's pages (docs/memory.md)
# Start and end are taken by bench/lib/timed.c right around the command
# (no shell forks inside the measurement).  pyhttp is Python's http.server,
# the "10 MB Python HTTP server" of the CRIU figures in docs/engine.md.
# A correct response is one request of progs/dclient.c (started before the
# command, it retries every 100 us): index.html for the web servers, a
# key set before the dump for redis and memcached (a nil GET on a cold
# start, when nothing was set), an A record from the hosts file for dnsmasq,
# the SMTP banner for postfix and the IMAP greeting for dovecot (their
# configurations: tests/daemons/mail_lib.sh, chroot on).
# When the engine cannot dump or restore a daemon, its line has the cold
# start and an "error" field with the engine's message.
set -u
cd "$(dirname "$0")/.." || exit 1
export ROOT=$PWD
export PICOCENTER=${PICOCENTER:-$ROOT/build/picocenter} TBIN=$ROOT/build/tests
RUNS=${RUNS:-5}
CYCLES=${CYCLES:-5}
read -ra RESTORE_ARGS <<<"${RESTORE_ARGS:-}"
DAEMONS=("$@")
[ ${#DAEMONS[@]} -eq 0 ] && DAEMONS=(lighttpd nginx redis memcached dnsmasq pyhttp postfix dovecot)
BTMP=$(mktemp -d /tmp/picocenter-bench-daemons.XXXXXX)
export TEST_TMP=$BTMP
trap 'rm -rf "$BTMP"' EXIT

if ! make -s build/picocenter build/tests/daemons/dclient build/tests/daemons/keepalive >&2; then
	[ -x build/picocenter ] && [ -x build/tests/daemons/dclient ] ||
		{ echo "bench/daemons.sh: build failed" >&2; exit 1; }
	echo "bench/daemons.sh: build failed; measuring the binaries already built" >&2
fi
. tests/daemons/lib.sh
. tests/daemons/mail_lib.sh
d_conf_postfix() { mail_conf_postfix "$1" >&2; echo "postfix -c $D_DIR/etc start-fg"; }
d_conf_dovecot() { mail_conf_dovecot "$1" >&2; echo "dovecot -F -c $D_DIR/dovecot.conf"; }
. bench/lib/build.sh
TIMED=$ROOT/build/bench/timed
bench_build "$ROOT/build/bench" timed || { echo "bench/daemons.sh: cannot build timed" >&2; exit 1; }
D_TIMEOUT=20

json_str() {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	printf '%s' "$s" | tr '\n\t\r' '   ' | tr -d '\000-\037'
}

# median of integers (µs) -> ms with 3 decimals
median_ms() {
	local m
	m=$(printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }')
	printf '%d.%03d' $((m / 1000)) $((m % 1000))
}

# probe_args DAEMON PORT -|VALUE: PROBE=(dclient arguments of a correct
# response); - is a miss (nothing set yet).
probe_args() {
	case $1 in
	lighttpd | nginx | pyhttp) PROBE=(http "$2" /index.html "hello from picocenter") ;;
	redis) PROBE=(redis "$2" get benchkey "$3") ;;
	memcached) PROBE=(mc "$2" get benchkey "$3") ;;
	dnsmasq) PROBE=(dns "$2" www.pico.test 10.0.0.1) ;;
	postfix) PROBE=(banner "$2" "ESMTP picocenter-test") ;;
	dovecot) PROBE=(banner "$2" "Dovecot (Debian) ready.") ;;
	esac
}

# read_times: T_START and T_END of the last command run by timed.
read_times() {
	read -r T_START T_END <"$D_DIR/t" || d_fail "no times from timed"
}

# timed_spawn CMD...: d_spawn, timed from just before `cr spawn` starts.
timed_spawn() {
	D_SPAWN_WRAP=("$TIMED" "$D_DIR/t")
	d_spawn "$@"
	D_SPAWN_WRAP=()
	read_times
}

# bench_one DAEMON: runs in a subshell (lib.sh's d_fail exits it); the
# result line goes to fd 3, everything else to the log.
bench_one() {
	local name=$1 port cmd r c t0 tok val img pid PROBE
	local cold=() dump=() rcmd=() resp=() pss=() pss0
	local err=

	d_init "bench-$name"
	port=$(d_port)
	cmd=$(d_conf_"$name" "$port")

	# Cold starts: cr spawn to the first correct response.
	for r in $(seq "$RUNS"); do
		probe_args "$name" "$port" -
		timed_spawn $cmd
		tok=$("$DCLIENT" -w 10000 -i 100 -T "${PROBE[@]}") || d_fail "cold start $r: no correct response"
		cold+=($((tok - T_START)))
		kill -KILL "$D_PID"
		while d_alive "$D_PID"; do sleep 0.005; done
	done
	printf '{"bench":"daemons","daemon":"%s","cold_start_ms":%s' "$name" "$(median_ms "${cold[@]}")" >"$D_DIR/result"

	# Dump/restore cycles of one daemon.
	d_spawn $cmd >/dev/null
	val=bench-$RANDOM$RANDOM
	case $name in
	redis) "$DCLIENT" -w 10000 redis "$port" set benchkey "$val" >/dev/null || d_fail "redis set" ;;
	memcached) "$DCLIENT" -w 10000 mc "$port" set benchkey "$val" >/dev/null || d_fail "memcached set" ;;
	esac
	probe_args "$name" "$port" "$val"
	"$DCLIENT" -w 10000 "${PROBE[@]}" || d_fail "no correct response before the first dump"
	pss0=$(d_pss)
	for c in $(seq "$CYCLES"); do
		img=$D_DIR/img.$c
		if ! "$TIMED" "$D_DIR/t" "$PICOCENTER" cr dump --pid "$D_PID" --dir "$img" 2>"$D_DIR/dump.err"; then
			err="dump: $(tail -n 1 "$D_DIR/dump.err")"
			break
		fi
		read_times
		dump+=($((T_END - T_START)))
		while d_alive "$D_PID"; do sleep 0.001; done
		# The client polls from before the restore starts.
		"$DCLIENT" -w 10000 -i 100 -t 1000 -T "${PROBE[@]}" >"$D_DIR/tok" 2>"$D_DIR/probe.err" &
		local probe=$!
		if ! pid=$("$TIMED" "$D_DIR/t" "$PICOCENTER" cr restore --dir "$img" "${RESTORE_ARGS[@]}" 2>"$D_DIR/restore.err"); then
			kill "$probe" 2>/dev/null
			err="restore: $(tail -n 1 "$D_DIR/restore.err")"
			break
		fi
		read_times
		rcmd+=($((T_END - T_START)))
		D_PID=$pid
		D_ALL_PIDS+=("$pid")
		if ! wait "$probe"; then
			err="no correct response after restore $c: $(tail -n 1 "$D_DIR/probe.err")"
			break
		fi
		resp+=($(($(<"$D_DIR/tok") - T_START)))
		pss+=($(d_pss))
		[ "$c" = 1 ] && echo "$(du -sb "$img" | cut -f1)" >"$D_DIR/imgsize"
		rm -rf "$img"
	done
	kill -KILL "$D_PID" 2>/dev/null
	if [ -n "$err" ]; then
		printf ',"cycles_done":%d,"error":"%s"}\n' "${#resp[@]}" "$(json_str "$err")" >>"$D_DIR/result"
	else
		local cm rm ok
		cm=$(median_ms "${cold[@]}")
		rm=$(median_ms "${resp[@]}")
		ok=$(awk -v c="$cm" -v r="$rm" 'BEGIN { print ((r < 10 && (c <= 50 || c / r >= 5)) ? "true" : "false") }')
		printf ',"dump_ms":%s,"restore_cmd_ms":%s,"restore_to_response_ms":%s,"speedup":%s,"image_bytes":%s,"pss_anon_kib_before":%d,"pss_anon_kib_after":%d,"runs":%d,"cycles":%d,"meets_target":%s}\n' \
			"$(median_ms "${dump[@]}")" "$(median_ms "${rcmd[@]}")" "$rm" \
			"$(awk -v c="$cm" -v r="$rm" 'BEGIN { printf "%.1f", (r > 0 ? c / r : 0) }')" \
			"$(cat "$D_DIR/imgsize")" "$pss0" "$(printf '%s\n' "${pss[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')" \
			"$RUNS" "$CYCLES" "$ok" >>"$D_DIR/result"
	fi
	cat "$D_DIR/result" >&3
}

rc=0
for name in "${DAEMONS[@]}"; do
	case $name in lighttpd | nginx | redis | memcached | dnsmasq | pyhttp | postfix | dovecot) ;; *)
		echo "bench/daemons.sh: unknown daemon $name" >&2; exit 2 ;;
	esac
	log=$BTMP/$name.log
	out=$( (bench_one "$name" 3>&1 >"$log" 2>&1) )
	if [ -z "$out" ]; then
		# Failed before the engine was involved: the daemon itself.
		msg=$(grep -m1 'FAIL:' "$log" | sed 's/.*FAIL: //')
		printf '{"bench":"daemons","daemon":"%s","error":"%s"}\n' "$name" \
			"$(json_str "${msg:-failed, see no log}")"
		sed 's/^/  /' "$log" >&2
		rc=1
	else
		echo "$out"
	fi
done
exit $rc

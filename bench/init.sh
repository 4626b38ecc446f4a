#!/bin/bash
# init.sh - what picocenter-init (the apps' pid 1, docs/serve.md "Init")
# costs an app; prints JSON lines.
#
#   bench/init.sh          RUNS=5
#
# One daemon on a temporary state dir; the same boxed lighttpd deployed
# twice, with the init (the default) and with --no-init, then swapped out
# and in RUNS times.  One line per variant:
#   init_rss_kb, init_pss_kb   the init process alone (smaps_rollup), 0
#                              without it
#   tree_pss_kb                the whole running tree's Pss
#   image_bytes                the first (whole) image of the app
#   swap_out_ms, swap_in_ms    the daemon's durations (medians of RUNS)
# and the file size of build/picocenter-init.
set -u
cd "$(dirname "$0")/.." || exit 1
RUNS=${RUNS:-5}
. tests/serve/lib.sh
d_need lighttpd
s_init bench-init >&2

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%.1f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; else printf "null" }'; }
rollup() { awk -v k="$2:" '$1 == k { s += $2 } END { print s + 0 }' /proc/"$1"/smaps_rollup 2>/dev/null; }
tree_pss() {
	local p t=0
	for p in $(d_tree "$1"); do t=$((t + $(rollup "$p" Pss))); done
	echo "$t"
}
# wait for the app's swap count to reach N
wait_swaps() {
	local i
	for i in $(seq 300); do
		[ "$(s_field "$1" 'a["swaps"]')" -ge "$2" ] && return 0
		sleep 0.05
	done
	s_fail "$1: swaps did not reach $2"
}

cmd=$(s_box_conf_lighttpd)
for variant in init no-init; do
	s_ports 1
	name=bi-$variant-$$ port=${S_PORTS[0]} outs=() ins=()
	opts=()
	[ "$variant" = no-init ] && opts=(--no-init)
	s_app create "$name" --port "127.0.0.1:$port:80" --idle 10m "${opts[@]}" -- $cmd >/dev/null ||
		s_fail "create $name"
	curl -s --max-time 10 -o /dev/null "http://127.0.0.1:$port/index.html" || s_fail "$name does not answer"
	sleep 1
	pid=$(s_field "$name" 'a["pid"]')
	irss=0 ipss=0
	if [ "$variant" = init ]; then
		irss=$(rollup "$pid" Rss)
		ipss=$(rollup "$pid" Pss)
	fi
	tpss=$(tree_pss "$pid")
	for i in $(seq "$RUNS"); do
		s_app swap-out "$name" >/dev/null || s_fail "swap-out $name"
		[ "$i" = 1 ] && image=$(s_field "$name" 'a["image_bytes"]')
		outs+=("$(s_field "$name" 'a["last_swap_out"]["ms"]')")
		s_app swap-in "$name" >/dev/null || s_fail "swap-in $name"
		ins+=("$(s_field "$name" 'a["last_swap_in"]["ms"]')")
	done
	printf '{"bench":"init","variant":"%s","init_rss_kb":%s,"init_pss_kb":%s,"tree_pss_kb":%s,"image_bytes":%s,"swap_out_ms":%s,"swap_in_ms":%s,"runs":%s}\n' \
		"$variant" "$irss" "$ipss" "$tpss" "$image" \
		"$(printf '%s\n' "${outs[@]}" | median)" "$(printf '%s\n' "${ins[@]}" | median)" "$RUNS"
	s_app rm "$name" >/dev/null
done
printf '{"bench":"init","binary_bytes":%s}\n' "$(stat -c %s build/picocenter-init)"

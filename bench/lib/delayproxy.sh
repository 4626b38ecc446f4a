# delayproxy.sh - sourced by tests and benches that put bench/delayproxy
# (a TCP proxy adding a delay to every request) in front of the S3 server.
#
# delayproxy_start ROOT PORTFILE ARGS...: build ROOT/build/delayproxy when
# missing or older than its source (it is not part of `make`), start it in
# the background with ARGS (-t TARGET and its options), its port written
# to PORTFILE; sets DELAYPROXY_PID and DELAYPROXY_PORT.  1 (with a message
# on stderr) when it cannot be built or did not start.
delayproxy_start() {
	local root=$1 portfile=$2 bin=$1/build/delayproxy
	shift 2
	if [ ! -x "$bin" ] || [ "$root/bench/delayproxy.c" -nt "$bin" ]; then
		cc -std=c17 -O2 -Wall -Wextra -Werror -pthread -o "$bin.tmp.$$" \
			"$root/bench/delayproxy.c" && mv "$bin.tmp.$$" "$bin" ||
			{ echo "cannot build bench/delayproxy" >&2; return 1; }
	fi
	"$bin" "$@" >"$portfile" &
	DELAYPROXY_PID=$!
	DELAYPROXY_PORT=
	for _ in $(seq 50); do
		DELAYPROXY_PORT=$(head -n 1 "$portfile" 2>/dev/null)
		[ -n "$DELAYPROXY_PORT" ] && return 0
		sleep 0.1
	done
	echo "delayproxy did not start" >&2
	return 1
}

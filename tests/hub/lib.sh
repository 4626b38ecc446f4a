# lib.sh - shared by the hub tests (tests/hub/t-*.sh) and bench/hub.sh.
#
# A test starts its own `picocenter hub` processes (state dirs inside its
# work dir D_DIR, from tests/daemons/lib.sh, and DNS on free loopback
# ports), makes tenants and worker tokens with the CLI, registers
# workers through the API with curl and resolves with dig.  A test that
# needs PostgreSQL starts Debian's own in its work dir (pg_start), on a
# unix socket there.  At exit every hub is killed by pid, PostgreSQL is
# stopped and the work dir removed, whether the test passed or not.
#
#   H_ZONE            the zone every hub serves
#   H_PID[NAME]       pid of hub NAME (state dir $D_DIR/NAME)
#   H_DNS[NAME]       its DNS port on 127.0.0.1
#   PG_URL            the database, once pg_start ran

d=$(dirname "${BASH_SOURCE[0]}")
. "$d/../daemons/lib.sh"

H_ZONE=apps.test
declare -A H_PID H_DNS
PG_DIR= PG_BIN=

# Hubs and workers get SIGTERM and a second to stop (so that a sanitizer
# build reports leaks), then SIGKILL.  Sanitizer reports in their logs
# fail the test.
h_cleanup() {
	local rc=$? n i bad=
	for n in "${!H_PID[@]}"; do
		kill -TERM "${H_PID[$n]}" 2>/dev/null
	done
	for i in $(seq 20); do
		for n in "${!H_PID[@]}"; do
			kill -0 "${H_PID[$n]}" 2>/dev/null && break
			n=
		done
		[ -z "$n" ] && break
		sleep 0.05
	done
	for n in "${!H_PID[@]}"; do
		kill -KILL "${H_PID[$n]}" 2>/dev/null
	done
	if [ -n "$D_DIR" ] && grep -q -E "runtime error|ERROR: (Address|Leak)Sanitizer" "$D_DIR"/*.hub.log 2>/dev/null; then
		grep -h -E -A12 "runtime error|ERROR: (Address|Leak)Sanitizer" "$D_DIR"/*.hub.log | head -n 60
		bad=1
	fi
	pg_stop
	d_cleanup
	[ -n "$bad" ] && exit 1
	exit $rc
}

h_fail() {
	local f
	for f in "$D_DIR"/*.hub.log; do
		[ -s "$f" ] || continue
		echo "--- last lines of $f:"
		tail -n 15 "$f"
	done
	d_fail "$@"
}

# h_init NAME: work dir and cleanup trap.
h_init() {
	d_init "$1"
	trap h_cleanup EXIT
	d_need dig curl python3 openssl
}

# h_port VAR: a free port into VAR (d_port in this shell, so that it
# remembers what it handed out).
h_port() {
	d_port >"$D_DIR/.port" || exit 1
	printf -v "$1" '%s' "$(cat "$D_DIR/.port")"
}

# h_start NAME [ARGS...]: start hub NAME (--name NAME, DNS on a free port)
# with ARGS and wait until it answers DNS and its API.
h_start() {
	local name=$1 port i
	shift
	h_port port
	H_DNS[$name]=$port
	"$PICOCENTER" hub --state-dir "$D_DIR/$name" --zone "$H_ZONE" --name "$name" \
		--dns "127.0.0.1:$port" "$@" >>"$D_DIR/$name.hub.log" 2>&1 &
	H_PID[$name]=$!
	for i in $(seq 400); do
		kill -0 "${H_PID[$name]}" 2>/dev/null || h_fail "hub $name exited"
		if [ -S "$D_DIR/$name/api.sock" ] &&
		   [ "$(h_dig "$name" +short "$H_ZONE" SOA)" != "" ]; then
			return 0
		fi
		sleep 0.025
	done
	h_fail "hub $name does not answer"
}

# h_dig NAME ARGS...: dig against hub NAME's DNS (UDP unless +tcp).
h_dig() {
	local name=$1
	shift
	dig @127.0.0.1 -p "${H_DNS[$name]}" +time=2 +tries=1 "$@"
}

# h_status NAME ARGS...: the status of a full dig answer ("NOERROR", ...).
h_status() {
	h_dig "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p' | head -n 1
}

# h_api NAME TOKEN METHOD PATH [BODY]: one API request on hub NAME's unix
# socket; prints "CODE BODY".
h_api() {
	local name=$1 token=$2 method=$3 path=$4 body=${5-} out code f
	f=$(mktemp "$D_DIR/.api.XXXXXX") || h_fail "mktemp"
	local args=(-s -o "$f" -w '%{http_code}' --unix-socket "$D_DIR/$name/api.sock"
		-X "$method")
	[ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	code=$(curl "${args[@]}" "http://hub$path") || code=000
	out=$(cat "$f" 2>/dev/null)
	rm -f "$f"
	echo "$code $out"
}

# h_expect CODE NAME TOKEN METHOD PATH [BODY]: the request answers CODE;
# prints the body.
h_expect() {
	local want=$1 got
	shift
	got=$(h_api "$@")
	[ "${got%% *}" = "$want" ] || h_fail "$3 $4: want $want, got: $got"
	echo "${got#* }"
}

# h_tenant HUB NAME: a new tenant's token.
h_tenant() {
	"$PICOCENTER" tenant create "$2" --state-dir "$D_DIR/$1" || h_fail "tenant create $2"
}

# h_worker HUB WTOKEN NAME ADDRESS [FREE_MB]: register or refresh a worker.
h_worker() {
	local free=$((${5:-4096} * 1048576))
	h_expect 200 "$1" "$2" PUT "/workers/$3" \
		"{\"address\":\"$4\",\"mem_total_bytes\":$((free * 2)),\"mem_free_bytes\":$free}" >/dev/null
}

# h_json EXPR: evaluate a python expression on the JSON read from stdin (j).
h_json() {
	python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"
}

# pg_start: Debian's PostgreSQL in $D_DIR/pg, on a unix socket there only;
# sets PG_URL.
pg_start() {
	PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -x "$PG_BIN/initdb" ] || h_fail "PostgreSQL is not installed (tests/hub/packages)"
	PG_DIR=$D_DIR/pg
	mkdir -p "$PG_DIR" && chown postgres: "$PG_DIR" && chmod 700 "$PG_DIR" || h_fail "mkdir $PG_DIR"
	runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres \
		>"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log"; h_fail "initdb"; }
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 \
		-o "-k $PG_DIR -c listen_addresses= -c fsync=off" start >/dev/null ||
		{ tail "$PG_DIR/log"; h_fail "postgres did not start"; }
	PG_URL="postgresql://postgres@/postgres?host=$PG_DIR"
}

pg_stop() {
	[ -n "$PG_DIR" ] && [ -f "$PG_DIR/data/postmaster.pid" ] || return 0
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop \
		>/dev/null 2>&1
	local pid
	pid=$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null)
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	return 0
}

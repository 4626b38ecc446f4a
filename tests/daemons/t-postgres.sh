#!/bin/bash
# t-postgres.sh - PostgreSQL 15 (a fresh cluster made by initdb, unix
# socket and TCP on a free loopback port) through 10 cycles: its 56-byte
# SysV shared memory segment (the interlock every postmaster keeps, with
# all its processes attached) comes back with its key and id; before each
# cycle psql inserts a row, after each every row reads back and the
# segment is still attached by every process, and the tree's anonymous Pss
# is within 10% of what it was before the dump (the postmaster's children
# still share its pages: docs/memory.md).  At the end a fast shutdown
# (SIGINT) ends cleanly: no "shmdt(...) failed", no ERROR, FATAL or PANIC
# in the server's log.
d=$(dirname "$0"); [ -f "$d/lib.sh" ] || d=$d/..; . "$d/lib.sh"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$PGBIN/postgres" ] || d_fail "no PostgreSQL server (tests/daemons/packages: postgresql-15)"
d_need psql setpriv
d_init postgres
PORT=$(d_port)
chown postgres "$D_DIR"
asuser() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }
asuser "$PGBIN/initdb" -D "$D_DIR/data" -A trust -U postgres >"$D_DIR/initdb.out" 2>&1 ||
	d_fail "initdb failed"
d_spawn setpriv --reuid=postgres --regid=postgres --init-groups -- \
	"$PGBIN/postgres" -D "$D_DIR/data" -k "$D_DIR" -p "$PORT" \
	-c listen_addresses=127.0.0.1 -c logging_collector=off -c log_min_messages=warning

sql() { timeout "$D_TIMEOUT" psql -X -qAt -h "$D_DIR" -p "$PORT" -U postgres -d postgres -c "$1"; }
tcp_sql() { timeout "$D_TIMEOUT" psql -X -qAt -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -c "$1"; }
# The interlock segment's key and id, and its attachments (from inside
# the tree's namespace; a backend that is ending may still count).
segment() { nsenter -t "$D_PID" -i ipcs -m | awk '$5 == 56 { print $1, $2 }'; }
nattch() { nsenter -t "$D_PID" -i ipcs -m | awk '$5 == 56 { print $6 }'; }

# (a connection before this would be refused with a FATAL in the log)
d_wait "ready to accept connections" grep -q "ready to accept connections" "$D_LOG"
d_wait "psql" sql "select 1"
d_expect "create table" "" sql "create table t (n int primary key, v text)"
SEG=$(segment)
[ -n "$SEG" ] || d_fail "no 56-byte SysV segment in the server's IPC namespace"
d_log "interlock segment (key id): $SEG, $(nattch) attachments"
# the postmaster, checkpointer, background writer, walwriter, autovacuum
# launcher, logical replication launcher
[ "$(nattch)" -ge 6 ] || d_fail "the segment has only $(nattch) attachments"

declare -A VAL=()
pre() {
	VAL[$1]="row-$1-$RANDOM"
	d_expect "insert $1" "" sql "insert into t values ($1, '${VAL[$1]}')"
	PSS_BEFORE=$(d_pss)
}
post() {
	local n
	d_expect "count after cycle $1" "${#VAL[@]}" tcp_sql "select count(*) from t"
	for n in "${!VAL[@]}"; do
		d_expect "row $n after cycle $1" "${VAL[$n]}" sql "select v from t where n = $n"
	done
	[ "$(segment)" = "$SEG" ] || d_fail "interlock segment now '$(segment)', was '$SEG'"
	[ "$(nattch)" -ge 6 ] || d_fail "the segment has only $(nattch) attachments"
	[ "$CR_NOCR" = 0 ] || return 0
	pss=$(d_pss)
	d_log "cycle $1: anonymous Pss $pss KiB, $PSS_BEFORE KiB before the dump"
	[ "$pss" -le $((PSS_BEFORE * 11 / 10)) ] ||
		d_fail "anonymous Pss after cycle $1 is $pss KiB, more than 10% over $PSS_BEFORE KiB"
}
d_cycles pre post

kill -INT "$D_PID"
for _ in $(seq 200); do d_alive "$D_PID" || break; sleep 0.05; done
d_alive "$D_PID" && d_fail "the restored server did not shut down on SIGINT"
grep -q "database system is shut down" "$D_LOG" || d_fail "no clean shutdown in the log"
if grep -E "shmdt|ERROR|FATAL|PANIC" "$D_LOG"; then
	d_fail "the server logged the lines above"
fi
[ "$CR_NOCR" = 1 ] && d_log "PASS (CR_NOCR=1: no dump/restore, clean shutdown)" ||
	d_log "PASS ($D_CYCLES cycles, clean shutdown)"
exit 0

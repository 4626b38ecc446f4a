#!/bin/bash
# t-postgres.sh - PostgreSQL, boxed under the daemon in its default shared
# memory setup: its main shared memory (anonymous, shared by every
# backend), a SysV segment made by the box's postgres user (mode 0600),
# and POSIX shared memory in the box's /dev/shm that backends and
# parallel workers open by name.  Through swap-outs that nap (the box
# kept) and one that sleeps (the box, its /dev/shm included, made again),
# new connections (new backends) and a parallel query must work and every
# row must be there.
d=$(dirname "$0"); . "$d/lib.sh"
d_need psql
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1)
[ -x "$PGBIN/postgres" ] || d_fail "no PostgreSQL server under /usr/lib/postgresql"
PGUSER_ID=$(id -u postgres):$(id -g postgres) || d_fail "no postgres user"
s_init postgres
s_ports 1; PP=${S_PORTS[0]}
PG=pg-$$
s_box_create "$PG" 1s "127.0.0.1:$PP:5432" -- --sleep 4s --user "$PGUSER_ID" --memory 512M -- \
	sh -c "$PGBIN/initdb -A trust -D /tmp/pgd >/dev/null &&
	       echo 'host all all 0.0.0.0/0 trust' >>/tmp/pgd/pg_hba.conf &&
	       exec $PGBIN/postgres -D /tmp/pgd -c listen_addresses='*' -c unix_socket_directories=/tmp"
sql() { psql -X -q -t -A -h 127.0.0.1 -p "$PP" -U postgres -c "$1" postgres 2>&1; }
ready() { sql 'select 1' | grep -qx 1; }
d_wait "postgres to accept connections" ready
[ "$(sql 'create table t(a int); insert into t values (1); select sum(a) from t')" = 1 ] ||
	s_fail "first insert: $(sql 'select sum(a) from t')"
parallel() { sql "set force_parallel_mode = on; set parallel_setup_cost = 0; select count(*) from t"; }
sum=1
for c in 2 3 4; do
	if [ $c = 4 ]; then
		s_wait_state "$PG" asleep 60
	else
		s_wait_state "$PG" napping 30
	fi
	sum=$((sum + c))
	d_expect "rows after swap-out $((c - 1))" "$sum" sql "insert into t values ($c); select sum(a) from t"
	d_expect "a parallel query after swap-out $((c - 1))" "$c" parallel
	d_log "cycle $((c - 1)) ok ($(s_state "$PG"), swaps $(s_field "$PG" 'a["swaps"]'))"
done
d_log PASS

#!/bin/bash
# t-mariadb.sh - MariaDB, boxed under the daemon with its default storage
# setup: InnoDB asks for Linux native AIO (the box answers io_setup with
# ENOSYS, an "[aio]" ring cannot be carried, and InnoDB falls back to its
# own threads), keeps temporary files opened with O_TMPFILE, and reserves
# 8 TiB of address space it never touches (a dump must not walk it page
# by page).  Rows written through the mariadb client survive a nap and a
# sleep, and a new connection works after each.  The swap-outs are asked
# for (app swap-out): InnoDB's background work after a write keeps it
# above the idle threshold for minutes.
d=$(dirname "$0"); . "$d/lib.sh"
d_need mariadb mariadbd mariadb-install-db
s_init mariadb
s_ports 1; PM=${S_PORTS[0]}
DB=mdb-$$
s_box_create "$DB" 1h "127.0.0.1:$PM:3306" -- --sleep 4s --memory 1G -- sh -c \
	"mariadb-install-db --user=mysql --datadir=/tmp/mdb >/tmp/install.log 2>&1 &&
	 exec mariadbd --user=mysql --datadir=/tmp/mdb --socket=/tmp/mdb.sock \
		--bind-address=0.0.0.0 --skip-grant-tables --skip-name-resolve"
sql() { mariadb -h 127.0.0.1 -P "$PM" -u root --connect-timeout=10 -N -B -e "$1" 2>&1; }
ready() { [ "$(sql 'select 1')" = 1 ]; }
D_TIMEOUT=60 d_wait "mariadbd to accept connections" ready
[ "$(sql 'create database d; create table d.t(a int) engine=InnoDB; insert into d.t values (1); select sum(a) from d.t')" = 1 ] ||
	s_fail "first insert: $(sql 'select sum(a) from d.t')"
s_app logs "$DB" | grep -q "native AIO" ||
	s_fail "InnoDB did not say it left native AIO: $(s_app logs "$DB" | grep -i aio | head -2)"
sum=1
for c in 2 3; do
	s_app swap-out "$DB" >/dev/null || s_fail "app swap-out $DB: $(s_field "$DB" 'a.get("error")')"
	[ $c = 3 ] && s_wait_state "$DB" asleep 60
	sum=$((sum + c))
	d_expect "rows after swap-out $((c - 1))" "$sum" sql "insert into d.t values ($c); select sum(a) from d.t"
	d_log "cycle $((c - 1)) ok ($(s_state "$DB"), last swap-out $(s_field "$DB" 'a["last_swap_out"]["ms"]') ms)"
done
d_log PASS

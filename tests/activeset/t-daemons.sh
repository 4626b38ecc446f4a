#!/bin/bash
# t-daemons.sh - the real daemons of tests/daemons (redis, nginx,
# memcached, lighttpd, dnsmasq, Python's http.server) through 10 cycles of
# dump to a store and lazy restore from it, with the ActiveSet recorded and
# installed at every revival and incremental dumps: each daemon's own test,
# with D_STORE set, must pass as it does with --dir.
. "$(dirname "$0")/lib.sh"
STORE=file://$A_W/store
ran=0
for t in redis nginx memcached lighttpd dnsmasq pyhttp redis-big; do
	log=$A_W/$t.log
	D_STORE=$STORE D_CYCLES=10 "$ROOT/tests/daemons/t-$t.sh" >"$log" 2>&1
	rc=$?
	if [ $rc = 77 ]; then
		a_log "$t: skipped ($(tail -n 1 "$log"))"
		continue
	fi
	if [ $rc != 0 ]; then
		tail -n 20 "$log"
		a_fail "$t through the store: exit $rc"
	fi
	a_log "$t: 10 cycles through the store: $(grep -c 'checks OK' "$log") checks OK"
	ran=$((ran + 1))
done
[ $ran -gt 0 ] || { echo "no daemon could run here"; exit 77; }
a_log "ok: $ran daemons"

#!/bin/bash
# s3-server.sh - a throwaway S3 server for tests and benchmarks: Ceph's
# radosgw on a single-node cluster (one monitor, one OSD on the in-memory
# object store, cephx off) listening on 127.0.0.1.
#
#   scripts/s3-server.sh start      start (or reuse) the cluster, print env
#   scripts/s3-server.sh env        print the env lines of a running cluster
#   scripts/s3-server.sh stop       kill everything it started, remove the dir
#   scripts/s3-server.sh kill-rgw   SIGKILL radosgw only (fault tests)
#   scripts/s3-server.sh start-rgw  start radosgw again after kill-rgw
#   scripts/s3-server.sh status     exit 0 when the S3 endpoint answers
#
# Installs nothing: the packages are listed in tests/s3/packages and come
# from scripts/deps.sh.  The cluster lives in $PICOCENTER_S3_DIR (default
# /tmp/picocenter-s3); pid files there make start and stop idempotent.  The
# OSD keeps objects in memory only, so stopping loses every object.
set -u

DIR=${PICOCENTER_S3_DIR:-/tmp/picocenter-s3}
CONF=$DIR/ceph.conf
ACCESS_KEY=PICOCENTERTESTKEY000
SECRET_KEY=picocenterTestSecretKey0000000000000000000
REGION=us-east-1
WAIT_S=${PICOCENTER_S3_WAIT:-60}

die() { echo "s3-server: $*" >&2; exit 1; }

# A TCP port nobody listens on, starting at $1.
free_port() {
	local p=$1
	while ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; do
		p=$((p + 1))
	done
	echo "$p"
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

rgw_url() { echo "http://127.0.0.1:$(cat "$DIR/rgw.port")"; }

# Does radosgw answer an anonymous request (any HTTP status)?
rgw_answers() {
	local code
	code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$(rgw_url)/") || return 1
	[ "$code" != 000 ]
}

print_env() {
	echo "export AWS_ENDPOINT_URL=$(rgw_url)"
	echo "export AWS_REGION=$REGION"
	echo "export AWS_ACCESS_KEY_ID=$ACCESS_KEY"
	echo "export AWS_SECRET_ACCESS_KEY=$SECRET_KEY"
	echo "export PICOCENTER_S3_DIR=$DIR"
}

write_conf() {
	local fsid=$1 monport=$2 rgwport=$3
	cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$monport
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
ms mon client mode = crc
run dir = $DIR/run
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
keyring = /dev/null
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0

[mon]
mon data = $DIR/mon
mon initial members = a
# commit map changes at once instead of batching them for a second: radosgw
# creates its pools one by one at start
paxos propose interval = 0.01
paxos min wait = 0.001

[osd]
osd data = $DIR/osd
osd objectstore = memstore
memstore device bytes = 2147483648
osd max object size = 134217728

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$rgwport tcp_nodelay=1
rgw data = $DIR/rgw
rgw enable usage log = false
rgw dns name = 127.0.0.1
EOF
}

# Start the monitor and wait for it to form a quorum of one.
start_mon() {
	local fsid=$1 monport=$2
	monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$monport]" \
		"$DIR/monmap" >/dev/null || die "monmaptool failed"
	ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" \
		>"$DIR/log/mkfs-mon.out" 2>&1 || die "ceph-mon --mkfs failed: $(tail -n 1 "$DIR/log/mkfs-mon.out")"
	ceph-mon -c "$CONF" -i a >>"$DIR/log/daemons.out" 2>&1 || die "ceph-mon failed to start (see $DIR/log/mon.a.log)"
}

start_osd() {
	local uuid id
	uuid=$(cat /proc/sys/kernel/random/uuid)
	id=$(timeout 30 ceph -c "$CONF" osd new "$uuid" 2>"$DIR/log/osd-new.err") ||
		die "ceph osd new failed: $(tail -n 1 "$DIR/log/osd-new.err")"
	[ "$id" = 0 ] || die "unexpected osd id '$id'"
	mkdir -p "$DIR/osd"
	ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$uuid" \
		>"$DIR/log/mkfs-osd.out" 2>&1 || die "ceph-osd --mkfs failed: $(tail -n 1 "$DIR/log/mkfs-osd.out")"
	ceph-osd -c "$CONF" -i 0 >>"$DIR/log/daemons.out" 2>&1 || die "ceph-osd failed to start (see $DIR/log/osd.0.log)"
}

cmd_start_rgw() {
	[ -f "$CONF" ] || die "no cluster in $DIR (run start first)"
	if ! pid_alive "$DIR/run/client.rgw.a.pid"; then
		radosgw -c "$CONF" -n client.rgw.a >>"$DIR/log/daemons.out" 2>&1 ||
			die "radosgw failed to start (see $DIR/log/client.rgw.a.log)"
	fi
	wait_rgw
}

# Bounded wait until radosgw answers HTTP.
wait_rgw() {
	local i
	for ((i = 0; i < WAIT_S * 10; i++)); do
		rgw_answers && return 0
		sleep 0.1
	done
	die "radosgw did not answer on $(rgw_url) within ${WAIT_S}s (see $DIR/log/client.rgw.a.log)"
}

make_user() {
	timeout 60 radosgw-admin -c "$CONF" -n client.rgw.a \
		--admin-socket="$DIR/run/radosgw-admin.asok" user create --uid=picocenter \
		--display-name=picocenter --access-key="$ACCESS_KEY" \
		--secret-key="$SECRET_KEY" >"$DIR/log/user.out" 2>&1 ||
		die "radosgw-admin user create failed: $(tail -n 1 "$DIR/log/user.out")"
}

cmd_start() {
	local fsid monport rgwport
	if [ -f "$CONF" ] && pid_alive "$DIR/run/mon.a.pid" &&
	   pid_alive "$DIR/run/osd.0.pid"; then
		cmd_start_rgw
		print_env
		return 0
	fi
	[ -d "$DIR" ] && cmd_stop >/dev/null 2>&1
	for b in radosgw ceph-mon ceph-osd monmaptool radosgw-admin ceph curl ss; do
		command -v "$b" >/dev/null || die "$b not installed (run scripts/deps.sh)"
	done
	mkdir -p "$DIR/run" "$DIR/log" "$DIR/mon" "$DIR/rgw" || die "cannot create $DIR"
	fsid=$(cat /proc/sys/kernel/random/uuid)
	monport=$(free_port 13300)
	rgwport=$(free_port 17480)
	echo "$rgwport" >"$DIR/rgw.port"
	write_conf "$fsid" "$monport" "$rgwport"
	start_mon "$fsid" "$monport"
	start_osd
	cmd_start_rgw
	make_user
	print_env >"$DIR/env"
	print_env
}

# Kill the daemon whose pid file is $1, waiting up to 10 s for it to exit.
kill_pidfile() {
	local f=$1 sig=${2:-TERM} pid i
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	if kill -0 "$pid" 2>/dev/null; then
		kill -"$sig" "$pid" 2>/dev/null
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	fi
	rm -f "$f"
}

cmd_stop() {
	[ -d "$DIR" ] || return 0
	kill_pidfile "$DIR/run/client.rgw.a.pid" KILL
	kill_pidfile "$DIR/run/osd.0.pid" KILL
	kill_pidfile "$DIR/run/mon.a.pid" KILL
	case "$DIR" in
	/tmp/*|/run/*|/var/tmp/*) rm -rf "$DIR" ;;
	*) echo "s3-server: not removing $DIR (outside /tmp)" >&2 ;;
	esac
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
env) [ -f "$DIR/env" ] || die "not running"; cat "$DIR/env" ;;
kill-rgw) kill_pidfile "$DIR/run/client.rgw.a.pid" KILL ;;
start-rgw) cmd_start_rgw ;;
status) [ -f "$DIR/rgw.port" ] && rgw_answers ;;
*) echo "usage: $0 start|stop|env|kill-rgw|start-rgw|status" >&2; exit 2 ;;
esac

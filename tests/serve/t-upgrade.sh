#!/bin/bash
# t-upgrade.sh - the daemon's binary is replaced while the daemon runs (a
# package upgrade, a rebuild): the custody holder it starts afterwards
# must still run, from the daemon's own binary, so that idle apps keep
# swapping out and answer again.  Before, the holder was exec'd by path,
# which then named a deleted file: every swap-out failed with "holder ...
# did not start" until the daemon was restarted.
d=$(dirname "$0"); . "$d/lib.sh"
d_need lighttpd curl
ORIG=$PICOCENTER
s_init upgrade
kill "$S_PID"
while kill -0 "$S_PID" 2>/dev/null; do sleep 0.05; done
cp "$ORIG" "$D_DIR/picocenter" || d_fail "copy the binary"
# installed as the build is: the apps' init next to the binary
init=$(dirname "$ORIG")/picocenter-init
[ -x "$init" ] || init=$(dirname "$ORIG")/../picocenter-init
cp "$init" "$D_DIR/picocenter-init" || d_fail "copy the init"
PICOCENTER=$D_DIR/picocenter
s_start
s_ports 1; P=${S_PORTS[0]}
s_create web 1s "$P" $(s_conf_lighttpd 1 "$P")
page() { curl -s --max-time 10 "http://127.0.0.1:$P/index.html"; }
d_expect "lighttpd before any swap" "hello from picocenter" page
[ -S "$S_DIR/hold.sock" ] && d_fail "a holder runs before the first swap-out"
# the upgrade: a new file at the same path, the daemon's one deleted
cp "$ORIG" "$D_DIR/picocenter.new" && mv "$D_DIR/picocenter.new" "$D_DIR/picocenter" ||
	d_fail "replace the binary"
ls -l "/proc/$S_PID/exe" | grep -q '(deleted)' || d_fail "the daemon's binary is not the replaced one"
for c in 1 2; do
	s_wait_state web napping 30
	d_expect "lighttpd after swap-out $c" "hello from picocenter" page
done
d_log PASS

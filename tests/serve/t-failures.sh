#!/bin/bash
# t-failures.sh - what a failed swap leaves behind.  A swap-out the engine
# refuses (the app holds a NETLINK_XFRM socket) leaves the app running and
# serving, with the reason in `app inspect` and the daemon's log.  A
# swap-in that fails (the store is out of reach, the image's local cache
# gone) marks the app failed with
# the reason and keeps its image and held sockets: a client that connects
# meanwhile waits, and once the store is back `app swap-in` succeeds and
# that client gets its answer.  A swap-out whose upload fails (the store
# made read-only) leaves the app running and serving: the image goes into
# the store while the tree is still stopped, before it is killed.
d=$(dirname "$0"); . "$d/lib.sh"
d_need python3 curl lighttpd
s_init failures
RO_STORE=
trap '[ -n "$RO_STORE" ] && umount "$RO_STORE" 2>/dev/null; s_cleanup' EXIT
s_ports 2
XP=${S_PORTS[0]} WP=${S_PORTS[1]}
mkdir -p "$D_DIR/x"
echo xfrm-page >"$D_DIR/x/index.html"
cat >"$D_DIR/xfrm.py" <<'PY'
import http.server, socket, sys
keep = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 6)   # NETLINK_XFRM
http.server.test(HandlerClass=http.server.SimpleHTTPRequestHandler, port=int(sys.argv[1]), bind="127.0.0.1")
PY
s_app create xfrm --runtime plain --port "$XP" --idle 10m --workdir "$D_DIR/x" -- python3 "$D_DIR/xfrm.py" "$XP" >/dev/null ||
	s_fail "create xfrm"
s_app swap-out xfrm >"$D_DIR/out" 2>&1 && s_fail "swap-out of an app with a NETLINK_XFRM socket succeeded"
d_log "refused: $(cat "$D_DIR/out")"
[ "$(wc -l <"$D_DIR/out")" = 1 ] || s_fail "not a one-line error: $(cat "$D_DIR/out")"
[ "$(s_state xfrm)" = running ] || s_fail "xfrm is $(s_state xfrm) after a failed swap-out"
s_field xfrm 'a["error"]' | grep -qi netlink || s_fail "inspect's error: $(s_field xfrm 'a.get("error")')"
grep -q "app xfrm: error: swap-out failed, still running" "$S_LOG" || s_fail "no error line in the log"
d_expect "xfrm still serves" xfrm-page curl -s --max-time 10 "http://127.0.0.1:$XP/"

s_create web 10m "$WP" $(d_conf_lighttpd "$WP")
s_app swap-out web >/dev/null || s_fail "swap-out web"
rm -rf "$S_DIR/apps/web/image"     # the local cache of its image: the store is needed
mv "$S_DIR/store" "$S_DIR/store.away"
s_app swap-in web >"$D_DIR/out" 2>&1 && s_fail "swap-in without the store succeeded"
d_log "failed as it should: $(cat "$D_DIR/out")"
[ "$(s_state web)" = failed ] || s_fail "web is $(s_state web) after a failed swap-in"
[ -n "$(s_field web 'a["error"]')" ] || s_fail "no error in inspect"
curl -s --max-time 30 "http://127.0.0.1:$WP/" >"$D_DIR/waiting" 2>&1 &
cpid=$!
D_BG_PIDS+=($cpid)
sleep 1
kill -0 "$cpid" 2>/dev/null || s_fail "the client of a failed app did not wait: $(cat "$D_DIR/waiting")"
rm -rf "$S_DIR/store"     # the failed fetch made an empty store there
mv "$S_DIR/store.away" "$S_DIR/store"
s_app swap-in web >/dev/null || s_fail "swap-in with the store back failed"
wait "$cpid"
[ "$(cat "$D_DIR/waiting")" = "hello from picocenter" ] || s_fail "the waiting client got '$(cat "$D_DIR/waiting")'"
[ "$(s_state web)" = running ] || s_fail "web is $(s_state web)"
[ -z "$(s_field web 'a.get("error", "")')" ] || s_fail "the error stayed after a good swap-in"

mount --bind "$S_DIR/store" "$S_DIR/store" || s_fail "bind the store"
RO_STORE=$S_DIR/store
mount -o remount,bind,ro "$S_DIR/store" || s_fail "make the store read-only"
s_app swap-out web >"$D_DIR/out" 2>&1 && s_fail "swap-out into a read-only store succeeded"
d_log "upload refused as it should: $(cat "$D_DIR/out")"
[ "$(s_state web)" = running ] || s_fail "web is $(s_state web) after a failed upload"
d_expect "web serving after a failed upload" "hello from picocenter" \
	curl -s --max-time 10 "http://127.0.0.1:$WP/"
umount "$S_DIR/store" || s_fail "umount the read-only store"
RO_STORE=
s_app swap-out web >/dev/null || s_fail "swap-out with the store writable again"
[ "$(s_state web)" = napping ] || s_fail "web is $(s_state web) after its swap-out"
d_expect "web swapped in again" "hello from picocenter" curl -s --max-time 30 "http://127.0.0.1:$WP/"
s_app rm xfrm >/dev/null
s_app rm web >/dev/null
d_log PASS

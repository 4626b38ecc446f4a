#!/bin/bash
# t-verify.sh - an app's first swap-out is verified (`cr dump --verify`):
# an app whose image could not be restored (it listens on a unix socket in
# a directory whose filesystem was remounted read-only after the bind, so a
# restore's bind fails) is not swapped out and killed: the swap-out fails
# with the reason, the app stays running and serving.
d=$(dirname "$0"); . "$d/lib.sh"
d_need python3 curl
s_init verify
s_ports 1
P=${S_PORTS[0]}
RO=$D_DIR/ro
mkdir -p "$RO" "$D_DIR/www"
echo verify-page >"$D_DIR/www/index.html"
mount -t tmpfs -o size=1m pc-serve-verify "$RO" || s_fail "mount tmpfs"
trap 'umount -l "$RO" 2>/dev/null; s_cleanup' EXIT
cat >"$D_DIR/app.py" <<'PY'
import http.server, socket, sys
keep = socket.socket(socket.AF_UNIX)
keep.bind(sys.argv[2]); keep.listen(4)
http.server.test(HandlerClass=http.server.SimpleHTTPRequestHandler, port=int(sys.argv[1]), bind="127.0.0.1")
PY
s_app create ro --runtime plain --port "$P" --idle 10m --workdir "$D_DIR/www" -- python3 "$D_DIR/app.py" "$P" "$RO/ctl.sock" >/dev/null ||
	s_fail "create"
d_expect "the app serves" verify-page curl -s --max-time 10 "http://127.0.0.1:$P/"
mount -o remount,ro "$RO" || s_fail "remount read-only"
s_app swap-out ro >"$D_DIR/out" 2>&1 && s_fail "the swap-out of an app that cannot be restored succeeded"
d_log "refused: $(cat "$D_DIR/out")"
grep -q "does not restore" "$D_DIR/out" || s_fail "the error does not say the image does not restore"
[ "$(s_state ro)" = running ] || s_fail "the app is $(s_state ro) after the refused swap-out"
d_expect "the app still serves" verify-page curl -s --max-time 10 "http://127.0.0.1:$P/"
s_app rm ro >/dev/null
d_log PASS

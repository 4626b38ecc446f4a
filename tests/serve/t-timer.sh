#!/bin/bash
# t-timer.sh - an app with a timerfd due in 5 s (progs/timerapp.c) and a
# 1 s idle time is swapped out while it waits; the daemon revives it when
# the timer is due (trigger "timer", nothing else reaches it), and the
# timer fires on time: between 4.9 and 6 s after it was armed.
d=$(dirname "$0"); . "$d/lib.sh"
APP=$TBIN/serve/timerapp
[ -x "$APP" ] || d_fail "no $APP (run make)"
s_init timer
PORT=$(d_port)
s_create tick 1s "$PORT" "$APP" "$PORT" 5 "$D_DIR/fired"
s_wait_state tick napping 5
armed=$(awk '/^armed/ { print $2 }' "$S_DIR/apps/tick/log")
[ -n "$armed" ] || s_fail "the app did not say when it armed its timer"
[ ! -s "$D_DIR/fired" ] || s_fail "fired before the swap-out"
d_log "napping; timer armed at $armed, due in 5 s"
for _ in $(seq 150); do [ -s "$D_DIR/fired" ] && break; sleep 0.05; done
[ -s "$D_DIR/fired" ] || s_fail "the timer did not fire within 7.5 s"
fired=$(awk '{ print $2 }' "$D_DIR/fired")
late=$((fired - armed))
d_log "fired $late ms after it was armed; $(s_field tick '"swapped in by %s in %s ms" % (a["last_swap_in"]["trigger"], a["last_swap_in"]["ms"])')"
[ "$(s_field tick 'a["last_swap_in"]["trigger"]')" = timer ] || s_fail "not revived by its timer"
[ "$late" -ge 4900 ] && [ "$late" -le 6000 ] || s_fail "fired $late ms after arming, not 5 s"
grep -q 'app tick: swapped out .* timer due in' "$S_LOG" || s_fail "the swap-out did not log the timer"
s_app rm tick >/dev/null
d_log PASS

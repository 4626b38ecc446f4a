#!/bin/bash
# t-restart.sh - the daemon is killed with SIGKILL and started again with
# apps in every state: running (lighttpd), napping (redis, with data),
# napping with a client waiting in its held listener during the restart
# window, failed (its process killed), and one caught swapping out.
# Afterwards: the running app is the same process, not started twice; the
# napping apps are revived by their clients with their data; the client
# that connected during the window gets its answer; the failed app stays
# failed; the app caught mid-swap ends napping or running and answers.
# Two boxed apps go through the same: a running lighttpd (same process,
# same box address after the restart) and a napping redis with data (its
# box's network namespace kept by its holder; revived through its
# published port by its client).  An app restored lazily from the store
# before the second restart keeps running and answering through it (its
# keeper serves its pages, not the daemon).  Before the second restart
# the holder is killed too: the napping apps (mid, plain; the boxed
# redis) come back with their sockets made anew; the daemon's idle spare
# engine child ends with it.
d=$(dirname "$0"); . "$d/lib.sh"
d_need lighttpd redis-server redis-cli curl python3
s_init restart
s_ports 6; WP=${S_PORTS[0]} RP=${S_PORTS[1]} XP=${S_PORTS[2]} SP=${S_PORTS[3]}
BWP=${S_PORTS[4]} BRP=${S_PORTS[5]}
rcli() { timeout 20 redis-cli -h 127.0.0.1 -p "$RP" "$@"; }
brcli() { timeout 20 redis-cli -h 127.0.0.1 -p "$BRP" "$@"; }
# spare_pid: the daemon's idle spare engine child (docs/serve.md,
# Concurrency), which ends with the daemon (its pipe closes)
spare_pid() {
	local p
	for p in $(s_our_pids); do
		[ "$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null)" = "$S_PID" ] &&
			tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q '^[^ ]*picocenter serve ' &&
			echo "$p" && return 0
	done
	return 1
}
gone() { [ ! -e "/proc/$1" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
BW=bweb-$$ BK=bkv-$$
s_box_create "$BW" 10m "127.0.0.1:$BWP:80" -- $(s_box_conf_lighttpd)
s_box_create "$BK" 10m "127.0.0.1:$BRP:6379" -- $(s_box_conf_redis)
d_expect "boxed redis SET" OK brcli SET boxed-key 7
s_app swap-out "$BK" >/dev/null || s_fail "swap-out $BK"
bw_pid=$(s_field "$BW" 'a["pid"]')
bw_addr=$(s_field "$BW" 'a["address"]')
bk_addr=$(s_field "$BK" 'a["address"]')
bw_idx=$(s_ifindex "$bw_addr") bk_idx=$(s_ifindex "$bk_addr")

s_create run 10m "$WP" $(d_conf_lighttpd "$WP")
s_create kv 10m "$RP" $(d_conf_redis "$RP")
mkdir -p "$D_DIR/x" "$D_DIR/s"
s_create dead 10m "$XP" python3 -m http.server --bind 127.0.0.1 --directory "$D_DIR/x" "$XP"
s_create mid 10m "$SP" python3 -m http.server --bind 127.0.0.1 --directory "$D_DIR/s" "$SP"
echo mid-page >"$D_DIR/s/index.html"

d_expect "redis SET" OK rcli SET before-restart 42
s_app swap-out kv >/dev/null || s_fail "swap-out kv"
run_pid=$(s_field run 'a["pid"]')
kill -KILL "$(s_field dead 'a["pid"]')"
s_wait_state dead failed 10

# mid: swap-out under way when the daemon dies
s_app swap-out mid >/dev/null 2>&1 &
D_BG_PIDS+=($!)
sleep 0.05
kill -KILL "$S_PID"
d_log "daemon killed"

# the restart window: a client reaches the napping redis
rcli GET before-restart >"$D_DIR/window.out" 2>&1 &
wpid=$!
sleep 0.5
s_start
d_log "daemon restarted"
wait "$wpid"
[ "$(cat "$D_DIR/window.out")" = 42 ] || s_fail "the client of the restart window got '$(cat "$D_DIR/window.out")'"

[ "$(s_state run)" = running ] || s_fail "run is $(s_state run) after the restart"
[ "$(s_field run 'a["pid"]')" = "$run_pid" ] || s_fail "run has a new pid"
for conf in lighttpd.conf lighttpd.box.conf; do
	n=0
	for p in $(s_our_pids); do
		# lighttpd itself (its init's command line names it too)
		[ "$(cat /proc/"$p"/comm 2>/dev/null)" = lighttpd ] &&
			tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF "lighttpd -D -f $D_DIR/$conf " &&
			n=$((n + 1))
	done
	[ "$n" = 1 ] || s_fail "$n lighttpd processes of $conf after the restart, not 1"
done
d_expect "run answers" "hello from picocenter" curl -s --max-time 10 "http://127.0.0.1:$WP/"
d_expect "kv revived by its client" 42 rcli GET before-restart
s_wait_state kv running 10   # the app answers before the daemon has its engine child's report
[ "$(s_field kv 'a["last_swap_in"]["trigger"]')" = traffic ] || s_fail "kv not revived by traffic"
[ "$(s_state dead)" = failed ] || s_fail "dead is $(s_state dead), not failed"
st=$(s_state mid)
case $st in running | napping) ;; *) s_fail "mid is '$st' after the restart" ;; esac
d_expect "mid answers" mid-page curl -s --max-time 20 "http://127.0.0.1:$SP/"
d_log "mid was $st after the restart and answers"
grep -q "app run: found running" "$S_LOG" || s_fail "no 'found running' line"
[ "$(s_state "$BW")" = running ] && [ "$(s_field "$BW" 'a["pid"]')" = "$bw_pid" ] ||
	s_fail "$BW is $(s_state "$BW") pid $(s_field "$BW" 'a.get("pid")') after the restart (was $bw_pid)"
[ "$(s_field "$BW" 'a["address"]')" = "$bw_addr" ] || s_fail "$BW lost its address"
d_expect "$BW answers" "hello from picocenter" curl -s --max-time 10 "http://127.0.0.1:$BWP/"
[ "$(s_state "$BK")" = napping ] || s_fail "$BK is $(s_state "$BK") after the restart"
d_expect "$BK revived by its client" 7 brcli GET boxed-key
s_wait_state "$BK" running 10
[ "$(s_field "$BK" 'a["last_swap_in"]["trigger"]')" = traffic ] || s_fail "$BK not revived by traffic"
[ "$(s_field "$BK" 'a["address"]')" = "$bk_addr" ] || s_fail "$BK changed its address"
s_app swap-out "$BK" >/dev/null || s_fail "swap-out $BK again"

# a second kill -9 and restart with the apps as they are now, the API on
# TCP too; mid naps as well, and the holder is killed while no daemon
# runs: the napping apps' held sockets are lost, and they come back with
# sockets made anew (the boxed one asleep until its client's packet, the
# plain one at once)
s_app swap-out mid >/dev/null || s_fail "swap-out mid"
for i in $(seq 30); do spare=$(spare_pid) && break; sleep 0.1; done
[ -n "$spare" ] || s_fail "the daemon has no spare engine child"
kill -KILL "$S_PID"
for i in $(seq 30); do gone "$spare" && break; sleep 0.1; done
gone "$spare" || s_fail "the spare engine child $spare outlived the daemon"
for p in $(s_our_pids); do
	tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q '^picocenter cr hold ' && kill -KILL "$p"
done
s_ports 1
s_start --listen "127.0.0.1:${S_PORTS[0]}"
d_expect "run answers after a second restart" "hello from picocenter" curl -s --max-time 10 "http://127.0.0.1:$WP/"
n=$(curl -s --max-time 10 "http://127.0.0.1:${S_PORTS[0]}/apps" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 6 ] || s_fail "GET /apps over --listen shows $n apps, not 6"
d_expect "$BK revived after a second restart" 7 brcli GET boxed-key
# a plain app has nothing to keep its ports while its sockets are made
# anew: the daemon revives it at once
s_wait_state mid running 20
[ "$(s_field mid 'a["last_swap_in"]["trigger"]')" = holder-lost ] || s_fail "mid not revived for its lost sockets"
d_expect "mid (its holder killed) answers" mid-page curl -s --max-time 20 "http://127.0.0.1:$SP/"
for a in mid "$BK"; do
	grep -q "app $a: error: its held sockets are lost" "$S_LOG" || s_fail "no 'held sockets are lost' line for $a"
done
grep -q "app $BK: asleep after" "$S_LOG" || s_fail "$BK did not fall asleep when its held sockets were lost"
# kv runs restored lazily from the store since the first restart: its
# keeper (the tree's parent, serving its pages) went on without the daemon
[ "$(s_state kv)" = running ] || s_fail "kv is $(s_state kv) after the second restart"
d_expect "kv (lazily restored) after the second restart" 42 rcli GET before-restart
for a in run kv dead mid "$BW" "$BK"; do s_app rm "$a" >/dev/null || s_fail "rm $a"; done
s_box_leftovers "$BW" "$bw_addr" "$bw_idx"
s_box_leftovers "$BK" "$bk_addr" "$bk_idx"
d_log PASS

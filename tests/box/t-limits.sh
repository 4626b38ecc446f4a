#!/bin/bash
# t-limits.sh - a box's cgroup holds its app in: a fork bomb stops at the
# pids limit (--pids), a memory hog is OOM-killed inside its own cgroup
# (--memory, no swap), and a neighbour box and the host go on as before.
d=$(dirname "$0"); . "$d/lib.sh"
b_need python3
b_init limits

# cg_file BOX CONTROLLER FILE: a file of the box's cgroup, from its record.
cg_file() {
	local dir
	dir=$(sed -n "s/^cg_$2=[01]://p" "$B_BOXES/$1-$$/config")
	[ -n "$dir" ] || b_fail "box $1 has no $2 cgroup"
	echo "$dir/$3"
}

b_spawn calm -- sleep 600 || b_fail "spawn of the neighbour failed"
CALM=$B_PID

b_spawn bomb --pids 16 -- python3 -c "
import os, time
ok = fail = 0
for i in range(200):
    try:
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
        ok += 1
    except OSError:
        fail += 1
print('forked', ok, 'failed', fail, flush=True)
time.sleep(600)" || b_fail "spawn of the fork bomb failed"
b_wait "the fork bomb's verdict" grep -q forked "$B_DIR/bomb-$$.log"
read -r _ ok _ fail <"$B_DIR/bomb-$$.log"
[ "$ok" -le 15 ] && [ "$fail" -ge 185 ] || b_fail "fork bomb: $ok forks, $fail refused (limit 16)"
cur=$(cat "$(cg_file bomb pids pids.current)")
[ "$cur" -le 16 ] || b_fail "pids.current $cur above 16"
b_log "fork bomb: $ok forks, $fail refused, pids.current $cur"

b_spawn hog --memory 32M -- python3 -c "
import time
b = []
for i in range(256):
    b.append(bytearray(1 << 20))
print('survived with', len(b), 'MiB', flush=True)
time.sleep(600)" || b_fail "spawn of the memory hog failed"
HOG=$B_PID
for i in $(seq 200); do [ -d "/proc/$HOG" ] || break; sleep 0.05; done
[ -d "/proc/$HOG" ] && b_fail "the memory hog still runs"
grep -q survived "$B_DIR/hog-$$.log" && b_fail "the memory hog got 256 MiB with a 32M limit"
f=$(cg_file hog memory memory.oom_control)
case $f in */memory.oom_control) kills=$(awk '$1 == "oom_kill" { print $2 }' "$f") ;; esac
[ -f "$f" ] || kills=$(awk '$1 == "oom_kill" { print $2 }' "$(cg_file hog memory memory.events)")
[ "${kills:-0}" -ge 1 ] || b_fail "no OOM kill counted in the hog's cgroup"
b_log "memory hog: OOM-killed in its cgroup ($kills kill(s))"

kill -0 "$CALM" || b_fail "the neighbour box died"
[ "$(b_in "$CALM" hostname)" = "calm-$$" ] || b_fail "the neighbour box changed"
"$PICOCENTER" box rm --box-dir "$B_BOXES" "bomb-$$" "hog-$$" "calm-$$" || b_fail "box rm"
for n in bomb hog calm; do b_leftovers "$n-$$"; done
b_log PASS

#!/bin/bash
# t-isolation.sh - from inside a box, as its app (attack.py), every way out
# must fail: see or signal another box's processes, read or write its
# files, list the state dir, connect to its address or its abstract unix
# socket, reach a host service on the bridge address, mount, write
# /proc/sys, bpf, keyctl, perf_event_open, ptrace, a new user namespace,
# raise a hard rlimit, make a device node.  The same again after a
# dump/restore of the attacker.  The targets are checked to be reachable
# from the host, so the test can tell blocked from broken.
d=$(dirname "$0"); . "$d/lib.sh"
b_need python3 curl
b_init isolation
HP=$(b_port)
ABS=pc-victim-$$
b_spawn victim -- python3 -c "
import socket, threading, http.server
u = socket.socket(socket.AF_UNIX); u.bind('\0$ABS'); u.listen()
open('/secret', 'w').write('secret of the victim')
http.server.HTTPServer(('0.0.0.0', 8000), http.server.SimpleHTTPRequestHandler).serve_forever()" ||
	b_fail "spawn of the victim failed"
VICTIM=$B_PID
VADDR=$(b_addr victim)
b_wait "the victim's web server on $VADDR:8000" curl -sf --max-time 1 "http://$VADDR:8000/"
[ -f "$B_BOXES/victim-$$/upper/secret" ] || b_fail "the victim's secret is not in its upper layer"
GW=$B_NET.1
python3 -m http.server --bind "$GW" "$HP" >/dev/null 2>&1 &
B_PIDS+=($!)
b_wait "the host service on $GW:$HP" curl -sf --max-time 1 "http://$GW:$HP/"

b_spawn attacker -- python3 "$ROOT/tests/box/attack.py" "$VICTIM" "$VADDR" 8000 "$ABS" \
	"$GW" "$HP" "$B_BOXES" "victim-$$" || b_fail "spawn of the attacker failed"
LOG=$B_DIR/attacker-$$.log
NAMES="see-processes signal-process read-files write-files state-dir connect-other-box
abstract-socket host-service-on-bridge mount write-proc-sys bpf keyctl perf_event_open ptrace
unshare-user raise-rlimit mknod"

rounds_done() { [ "$(grep -c '^DONE' "$LOG")" -ge "$1" ]; }
verdicts() {
	local round=$1 n
	b_wait "round $round of attempts" rounds_done "$round"
	grep -q ESCAPED "$LOG" && b_fail "escaped: $(grep ESCAPED "$LOG")"
	for n in $NAMES; do
		[ "$(grep -c "^blocked $n\$" "$LOG")" -ge "$round" ] || b_fail "no verdict for $n in round $round"
	done
	b_log "round $round: all $(echo $NAMES | wc -w) attempts blocked"
}
verdicts 1
b_cycle attacker "$B_PID" "$B_DIR/img"
kill -USR1 "$B_PID"
verdicts 2
curl -sf --max-time 1 "http://$VADDR:8000/" >/dev/null || b_fail "the victim stopped answering"
"$PICOCENTER" box rm --box-dir "$B_BOXES" "attacker-$$" "victim-$$" || b_fail "box rm"
b_leftovers "attacker-$$"
b_leftovers "victim-$$"
b_log PASS

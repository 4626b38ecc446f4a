#!/bin/bash
# t-pty.sh - progs/ptys.c (two pty pairs in the host's devpts: one with
# a slave that is a session's controlling terminal with another group in
# the foreground, raw termios, a window size, exclusive mode and mode
# 0600; one locked master in packet mode) through 3 dump/restore cycles
# and a last restore with the pairs' indexes held by another program: the
# indexes (then other ones, with a warning), termios, window, modes,
# session and foreground group come back and pair A carries data both
# ways.  Input
# left queued in a slave is not carried: a dump then fails, saying so,
# and the tree runs on; once the app has read it, the dump works.
. "$(dirname "$0")/lib.sh"
cr_start pty ptys
cr_cycles 3
touch "$CR_CHK/queue.4"
cr_check 4
"$PICOCENTER" cr dump --pid "$CR_PID" --dir "$CR_W/img.queued" 2>"$CR_W/dump.err" &&
	cr_fail "a dump with terminal input queued succeeded"
grep -q "bytes of input are not read yet" "$CR_W/dump.err" ||
	cr_fail "dump with input queued: $(cat "$CR_W/dump.err")"
cr_log "dump refused: $(cat "$CR_W/dump.err")"
cr_alive "$CR_PID" || cr_fail "the tree died with the refused dump"
[ -e "$CR_W/img.queued" ] && [ -n "$(ls -A "$CR_W/img.queued")" ] && cr_fail "the refused dump left files"
cr_check 5
cr_cycle 6
# The pairs' indexes taken in the host's devpts while the tree is down:
# the restore gives the lowest free ones instead, with a warning.
read -r ia ib <"$CR_CHK/indexes" || cr_fail "no indexes from the program"
kill -KILL "$CR_PID"
python3 - "$ia" "$ib" >"$CR_W/squat.out" 2>&1 <<'PY' &
import fcntl, os, struct, sys, time
TIOCGPTN = 0x80045430
want, held = {int(a) for a in sys.argv[1:]}, {}
while want - set(held):
    f = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY)
    held[struct.unpack("I", fcntl.ioctl(f, TIOCGPTN, b"\0" * 4))[0]] = f
    if len(held) > 64:
        sys.exit("no pty " + str(want))
print("HELD", flush=True)
time.sleep(600)
PY
CR_ALL_PIDS+=($!)
for _ in $(seq 250); do grep -q HELD "$CR_W/squat.out" && break; sleep 0.02; done
grep -q HELD "$CR_W/squat.out" || cr_fail "could not take ptys $ia and $ib: $(cat "$CR_W/squat.out")"
touch "$CR_CHK/anyindex"
rm -f "$CR_CHK"/*.6
cr_restore "$CR_LAST_IMG"
grep -q "pty $ia is taken in the host's devpts: it comes back as pty" "$CR_W/restore.err" ||
	cr_fail "no warning about pty $ia: $(cat "$CR_W/restore.err")"
cr_log "restored with ptys $ia and $ib taken: $(tr '\n' ' ' <"$CR_W/restore.err")"
cr_check 6
cr_finish

#!/bin/bash
# t-lazy-keeper.sh - a tree whose memory is still served lazily dies with
# its keeper (the page server lives there): it must not run on with pages
# that now read as zero.  progs/lazymem.c is restored with the background
# fill off, so its big region is certainly still registered when the keeper
# is killed.
. "$(dirname "$0")/lib.sh"
export PICOCENTER_LAZY_FILL=0

cr_start lazy-keeper lazymem
cr_check 0
cr_dump "$CR_W/img"
cr_restore "$CR_W/img"
grep -q '^VmFlags:.* um' "/proc/$CR_PID/smaps" ||
	cr_fail "pid $CR_PID: nothing registered with the page server after the restore"
keeper=$(cr_keeper "$CR_PID")
[[ -n $keeper && $keeper != 1 ]] || cr_fail "restored root $CR_PID has no keeper"
kill -KILL "$keeper"
cr_log "killed keeper $keeper of the lazily restored tree $CR_PID"
for _ in $(seq 200); do
	cr_alive "$CR_PID" || { cr_log "the tree died with its keeper"; cr_finish; }
	sleep 0.01
done
cr_fail "tree $CR_PID still runs 2 s after its keeper died, without its page server"

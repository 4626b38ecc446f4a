#!/bin/bash
# t-lazy.sh - progs/lazymem.c: memory restored lazily, with the page
# server's background fill off so that every page comes in through a fault
# while the program forks, discards, moves and unmaps its memory (3 cycles
# and a re-restore).  After each restore the program's big region must
# still be registered with a userfaultfd (VmFlags "um"): otherwise the
# restore was not lazy and this test would prove nothing.
. "$(dirname "$0")/lib.sh"
export PICOCENTER_LAZY_FILL=0
CR_TIMEOUT=${CR_TIMEOUT:-30}

lazy_registered() {
	local n
	n=$(grep -c '^VmFlags:.* um' "/proc/$CR_PID/smaps")
	[ "${n:-0}" -ge 1 ] || cr_fail "pid $CR_PID: no VMA registered with userfaultfd after the restore"
	cr_log "$n VMAs registered with the page server"
}
CR_AFTER_RESTORE=lazy_registered
cr_test lazy lazymem 3

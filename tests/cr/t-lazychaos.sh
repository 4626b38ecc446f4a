#!/bin/bash
# t-lazychaos.sh - progs/lazychaos.c: random writes, discards, moves,
# protection changes and forks on lazily restored memory, checked page by
# page against a shadow (3 cycles and a re-restore).  The page server's
# background fill is off for the odd cycles, on for the others, so the
# operations meet pages that are not in yet both with and without a fill
# racing them.
. "$(dirname "$0")/lib.sh"
CR_TIMEOUT=${CR_TIMEOUT:-30}
switch_fill() {
	if [ "${PICOCENTER_LAZY_FILL:-1}" = 0 ]; then
		export PICOCENTER_LAZY_FILL=1
	else
		export PICOCENTER_LAZY_FILL=0
	fi
	cr_log "next restore with PICOCENTER_LAZY_FILL=$PICOCENTER_LAZY_FILL"
}
switch_fill
CR_AFTER_RESTORE=switch_fill
cr_test lazychaos lazychaos 3

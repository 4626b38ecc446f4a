#!/bin/bash
# t-churn.sh - progs/churn.c: threads and child processes are created and
# end without pause while the tree is dumped (3 cycles and a re-restore).
. "$(dirname "$0")/lib.sh"
cr_test churn churn 3

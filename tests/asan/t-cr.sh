#!/bin/bash
# t-cr.sh - the checkpoint/restore suite against the ASan+UBSan binary
# (the restorer, the keeper and the dumper all run instrumented).
. "$(dirname "$0")/lib.sh"
TEST_TMP=${TEST_TMP:-$(mktemp -d)}
asan_suite cr

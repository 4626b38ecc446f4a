#!/bin/bash
# t-store.sh - the store suite against the ASan+UBSan binary.
. "$(dirname "$0")/lib.sh"
TEST_TMP=${TEST_TMP:-$(mktemp -d)}
asan_suite store

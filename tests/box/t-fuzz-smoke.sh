#!/bin/bash
# t-fuzz-smoke.sh - builds the libFuzzer targets of the box record parser
# (fuzz/box_record.c), of the image's seccomp filter file
# (fuzz/cr_seccomp.c), of its box-cgroups (fuzz/box_cgroups.c) and of a
# box's tmpfiles.d lines (fuzz/box_tmpfiles.c) with
# `make fuzz`, and fuzzes each for 10 seconds from
# its seeds in fuzz/corpus/NAME/.  Fails if a fuzzer finds a crash, a leak,
# undefined behaviour or a hang; exits 77 (skip) without clang's fuzzer
# runtime.
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
TARGETS="box_record cr_seccomp box_cgroups box_tmpfiles"
work=$(mktemp -d "${TEST_TMP:-/tmp}/fuzz-box.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

. "$ROOT/fuzz/lib.sh"
fuzz_build "$work"

fuzz_all "$work" box "${FUZZ_SECONDS:-10}" $TARGETS

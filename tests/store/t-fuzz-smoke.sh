#!/bin/bash
# t-fuzz-smoke.sh - builds the store's libFuzzer targets (fuzz/store_*.c,
# fuzz/mem_activeset.c, `make fuzz`) and fuzzes each for 15 seconds from
# its seeds in fuzz/corpus/NAME/: the store manifest parser, the S3 XML
# readers, the S3 config parser, the chunk decoder, the page index parser,
# the local copy parser and the ActiveSet record parser.  Fails if a fuzzer finds a crash, a
# leak, undefined behaviour or a hang; exits 77 (skip) without clang's
# fuzzer runtime.
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
SECONDS_TO_FUZZ=${FUZZ_SECONDS:-15}
# target:seeds
TARGETS="store_manifest:manifest store_s3_xml:s3_xml store_s3_conf:s3_conf store_chunk:chunk
store_pindex:pindex store_pdue:pdue store_localcopy:localcopy mem_activeset:activeset"
work=$(mktemp -d "${TEST_TMP:-/tmp}/fuzz-store.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

. "$ROOT/fuzz/lib.sh"
fuzz_build "$work"

fuzz_all "$work" store "$SECONDS_TO_FUZZ" $TARGETS

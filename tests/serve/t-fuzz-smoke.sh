#!/bin/bash
# t-fuzz-smoke.sh - builds the API request parser's libFuzzer target
# (fuzz/api_request.c) and fuzzes it for 15 seconds from the requests in
# fuzz/corpus/api_request.  Fails if the fuzzer finds a crash, a leak,
# undefined behaviour or a parsed spec that breaks the parser's rules;
# exits 77 (skip) without clang's fuzzer runtime.
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
SECONDS_TO_FUZZ=${FUZZ_SECONDS:-15}
work=$(mktemp -d "${TEST_TMP:-/tmp}/fuzz-api.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' >"$work/probe.c"
if ! command -v clang >/dev/null ||
   ! clang -fsanitize=fuzzer,address,undefined -o "$work/probe" "$work/probe.c" 2>/dev/null; then
	echo "clang's libFuzzer runtime is missing (make deps installs libclang-rt-14-dev)"
	exit 77
fi
make -s build/fuzz/api_request || { echo "FAIL: make build/fuzz/api_request"; exit 1; }
mkdir -p "$work/corpus" "$work/crash"
"$ROOT/build/fuzz/api_request" -max_total_time="$SECONDS_TO_FUZZ" \
	-artifact_prefix="$work/crash/" -print_final_stats=1 \
	"$work/corpus" "$ROOT/fuzz/corpus/api_request" >"$work/log" 2>&1
rc=$?
tail -n 12 "$work/log"
if [ $rc != 0 ] || [ -n "$(ls -A "$work/crash")" ]; then
	keep=${TEST_TMP:-/tmp}/fuzz-api-crash.$$
	cp -r "$work/crash" "$keep"
	echo "FAIL: the fuzzer found a problem (exit $rc); inputs kept in $keep"
	exit 1
fi
echo "fuzzed api_parse_create for ${SECONDS_TO_FUZZ}s: no crash"

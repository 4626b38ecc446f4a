#!/bin/bash
# t-fuzz-smoke.sh - builds the store's libFuzzer targets (fuzz/store_*.c,
# fuzz/mem_activeset.c, `make fuzz`) and fuzzes each for 15 seconds from
# its seeds in fuzz/corpus/NAME/: the store manifest parser, the S3 XML
# readers, the S3 config parser, the chunk decoder, the page index parser
# and the ActiveSet record parser.  Fails if a fuzzer finds a crash, a
# leak, undefined behaviour or a hang; exits 77 (skip) without clang's
# fuzzer runtime.
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
SECONDS_TO_FUZZ=${FUZZ_SECONDS:-15}
# target:seeds
TARGETS="store_manifest:manifest store_s3_xml:s3_xml store_s3_conf:s3_conf store_chunk:chunk
store_pindex:pindex mem_activeset:activeset"
work=$(mktemp -d "${TEST_TMP:-/tmp}/fuzz-store.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

. "$ROOT/fuzz/lib.sh"
fuzz_build "$work"

# Fuzz one target from a scratch copy of its seeds; 0 when nothing found.
fuzz_one() {
	local name=${1%%:*} seeds=${1#*:} dir=$work/${1%%:*} rc

	mkdir -p "$dir/corpus" "$dir/crash"
	cp "$ROOT/fuzz/corpus/$seeds"/* "$dir/corpus/" || return 1
	"$ROOT/build/fuzz/$name" -max_total_time="$SECONDS_TO_FUZZ" \
		-timeout=10 -artifact_prefix="$dir/crash/" -print_final_stats=1 \
		"$dir/corpus" >"$dir/log" 2>&1
	rc=$?
	echo "== $name: exit $rc, $(grep -h number_of_executed_units "$dir/log")"
	if [ $rc != 0 ] || [ -n "$(ls -A "$dir/crash")" ]; then
		tail -n 30 "$dir/log"
		return 1
	fi
}

# All targets at once (each is one process), then their verdicts.
pids=()
for t in $TARGETS; do
	fuzz_one "$t" >"$work/${t%%:*}.out" 2>&1 &
	pids+=($!)
done
failed=()
i=0
for t in $TARGETS; do
	wait "${pids[$i]}" || failed+=("${t%%:*}")
	cat "$work/${t%%:*}.out"
	i=$((i + 1))
done
if [ ${#failed[@]} != 0 ]; then
	keep=${TEST_TMP:-/tmp}/fuzz-store-crash.$$
	mkdir -p "$keep"
	for t in "${failed[@]}"; do cp -r "$work/$t" "$keep/"; done
	echo "FAIL: the fuzzer found a problem in: ${failed[*]}; inputs and logs kept in $keep"
	exit 1
fi
echo "fuzzed every target for ${SECONDS_TO_FUZZ}s: no crash"

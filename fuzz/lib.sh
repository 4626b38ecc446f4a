# lib.sh - sourced by the fuzz smoke tests (tests/*/t-fuzz-smoke.sh).
#
# fuzz_build WORKDIR: exit 77 (skip) when clang or its libFuzzer runtime is
# missing (make deps installs libclang-rt-14-dev), exit 1 when `make fuzz`
# fails, else return with every target built in build/fuzz/.
fuzz_build() {
	local probe=$1/probe.c

	echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' >"$probe"
	if ! command -v clang >/dev/null ||
	   ! clang -fsanitize=fuzzer,address,undefined -o "$1/probe" "$probe" 2>/dev/null; then
		echo "clang's libFuzzer runtime is missing (make deps installs libclang-rt-14-dev)"
		exit 77
	fi
	make -s fuzz || { echo "FAIL: make fuzz"; exit 1; }
}

# fuzz_one WORKDIR SECONDS TARGET[:SEEDS]: fuzz build/fuzz/TARGET for
# SECONDS from a scratch copy of fuzz/corpus/SEEDS (default TARGET);
# 0 when it found nothing.
fuzz_one() {
	local work=$1 secs=$2 name=${3%%:*} seeds=${3#*:} dir rc

	dir=$work/$name
	mkdir -p "$dir/corpus" "$dir/crash"
	cp fuzz/corpus/"$seeds"/* "$dir/corpus/" || return 1
	"build/fuzz/$name" -max_total_time="$secs" -timeout=10 \
		-artifact_prefix="$dir/crash/" -print_final_stats=1 "$dir/corpus" >"$dir/log" 2>&1
	rc=$?
	echo "== $name: exit $rc, $(grep -h number_of_executed_units "$dir/log")"
	if [ $rc != 0 ] || [ -n "$(ls -A "$dir/crash")" ]; then
		tail -n 30 "$dir/log"
		return 1
	fi
}

# fuzz_all WORKDIR SUITE SECONDS TARGET[:SEEDS]...: every target at once
# (one process each), then their verdicts; exit 1, the inputs and logs of
# the failed ones kept in TEST_TMP, when any found a problem.
fuzz_all() {
	local work=$1 suite=$2 secs=$3 t i=0 keep pids=() failed=()

	shift 3
	for t in "$@"; do
		fuzz_one "$work" "$secs" "$t" >"$work/${t%%:*}.out" 2>&1 &
		pids+=($!)
	done
	for t in "$@"; do
		wait "${pids[$i]}" || failed+=("${t%%:*}")
		cat "$work/${t%%:*}.out"
		i=$((i + 1))
	done
	if [ ${#failed[@]} != 0 ]; then
		keep=${TEST_TMP:-/tmp}/fuzz-$suite-crash.$$
		mkdir -p "$keep"
		for t in "${failed[@]}"; do cp -r "$work/$t" "$keep/"; done
		echo "FAIL: the fuzzer found a problem in: ${failed[*]}; inputs and logs kept in $keep"
		exit 1
	fi
	echo "fuzzed $* for ${secs}s each: no crash"
}

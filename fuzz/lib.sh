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

# lib.sh - helpers for the store tests (sourced).
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
PICOCENTER=${PICOCENTER:-$ROOT/build/picocenter}
T=$(mktemp -d "${TEST_TMP:-/tmp}/store.XXXXXX")
STORE=file://$T/store
trap 'cleanup' EXIT

cleanup() { :; }
fail() { echo "FAIL: $*" >&2; exit 1; }
pc() { "$PICOCENTER" "$@"; }

# make_image DIR MB: a random + zero + repeated plain file "raw" and a
# manifest ("pages" would be stored by pages: t-pages).
make_image() {
	local dir=$1 mb=$2 third
	mkdir -p "$dir"
	third=$((mb / 3))
	head -c $((third * 1048576)) /dev/urandom >"$dir/raw"
	head -c $((third * 1048576)) /dev/zero >>"$dir/raw"
	head -c 65536 /dev/urandom >"$T/rep"
	for _ in $(seq $(((mb - 2 * third) * 16))); do cat "$T/rep"; done >>"$dir/raw"
	printf 'image of %s MB\n' "$mb" >"$dir/manifest"
}

# put_bytes OUTPUT: the "N bytes written" of a put's report.
put_bytes() { sed -n 's/.*(\([0-9]*\) bytes written).*/\1/p' <<<"$1"; }
put_new() { sed -n 's/.* \([0-9]*\) new chunks.*/\1/p' <<<"$1"; }

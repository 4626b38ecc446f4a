# build.sh - sourced by the bench scripts: bench_build DEST NAME... compiles
# bench/lib/NAME.c into DEST/NAME when missing or older than its source.
bench_build() {
	local dest=$1 f
	shift
	mkdir -p "$dest" || return 1
	for f in "$@"; do
		if [ ! -x "$dest/$f" ] || [ "bench/lib/$f.c" -nt "$dest/$f" ]; then
			gcc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -pthread \
				-o "$dest/$f" "bench/lib/$f.c" || return 1
		fi
	done
}

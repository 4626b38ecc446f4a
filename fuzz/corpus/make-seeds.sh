#!/bin/bash
# make-seeds.sh - regenerate the seed corpora of the store fuzz targets in
# fuzz/corpus/ from the real code paths: `picocenter store put` writes two
# generations of a small image into a throwaway file:// store; its
# manifests seed store_manifest, its chunk objects (prefixed with the hash
# and length the manifest gives them, see fuzz/store_chunk.c) seed
# store_chunk, and the page index of its paged file "pages" (prefixed with
# the pack table, see fuzz/store_pindex.c) seeds store_pindex; the local
# copies the puts keep seed store_localcopy.  The S3 XML,
# config and ActiveSet seeds are written by hand and are not touched.  Run
# after `make`.
cd "$(dirname "$0")/../.." || exit 1
PICOCENTER=${PICOCENTER:-$PWD/build/picocenter}
work=$(mktemp -d /tmp/fuzz-seeds.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
out=fuzz/corpus

mkdir -p "$work/img" "$out/manifest" "$out/chunk" "$out/pindex"
printf 'hello, store\n' >"$work/img/small"
{ head -c 8192 /dev/urandom; head -c 4096 /dev/zero | tr '\0' 'p'; } >"$work/img/pages"
head -c 3000 /dev/zero >"$work/img/zeros"
seq 1 400 >"$work/img/numbers"
: >"$work/img/empty"
"$PICOCENTER" store put --store "file://$work/s" --image app-1 --dir "$work/img" \
	--local "$work/l" >/dev/null || exit 1
cp "$work/l/app-1.copy" "$work/copy1"
printf 'changed\n' >"$work/img/small"
head -c 4096 /dev/urandom >>"$work/img/pages"
"$PICOCENTER" store put --store "file://$work/s" --image app-1 --dir "$work/img" \
	--local "$work/l" >/dev/null || exit 1
cp "$work/l/app-1.copy" "$work/copy2"

rm -f "$out"/manifest/* "$out"/chunk/* "$out"/pindex/*
n=0
for m in "$work"/s/images/app-1/*; do
	n=$((n + 1))
	cp "$m" "$out/manifest/gen$n"
done
# One seed per distinct chunk: hash (32 bytes), length (4 bytes LE), object.
grep -h '^c ' "$work"/s/images/app-1/* | sort -u | while read -r _ hex len; do
	{
		printf '%s' "$hex" | xxd -r -p
		printf '%08x' "$len" | sed 's/\(..\)\(..\)\(..\)\(..\)/\4\3\2\1/' | xxd -r -p
		cat "$work/s/chunks/${hex:0:2}/$hex"
	} >"$out/chunk/${hex:0:16}"
done
# One seed per generation's page index: pack count - 1 (1 byte), pack
# sizes (4 bytes LE each), then the index (its chunks in order).
n=0
for m in "$work"/s/images/app-1/*; do
	n=$((n + 1))
	read -r _ _ _ _ npacks nidx _ < <(grep '^paged pages ' "$m")
	{
		printf '%02x' $((npacks - 1)) | xxd -r -p
		grep '^p ' "$m" | while read -r _ _ size; do
			printf '%08x' "$size" | sed 's/\(..\)\(..\)\(..\)\(..\)/\4\3\2\1/' | xxd -r -p
		done
		grep -A"$((npacks + nidx))" "^paged pages " "$m" | grep "^c " | while read -r _ hex _; do
			obj=$work/s/chunks/${hex:0:2}/$hex
			if [ "$(head -c 1 "$obj")" = Z ]; then
				tail -c +2 "$obj" | zstd -dcq
			else
				tail -c +2 "$obj"
			fi
		done
	} >"$out/pindex/gen$n"
done
# The local copies the puts kept (--local), as fuzz/store_localcopy.c
# reads its input: the manifest, a NUL byte, the files' bytes.
mkdir -p "$out/localcopy"
rm -f "$out"/localcopy/*
for n in 1 2; do
	python3 -c '
import sys
b = open(sys.argv[1], "rb").read()
n = int.from_bytes(b[8:16], "little")
sys.stdout.buffer.write(b[16:16 + n] + b"\0" + b[16 + n:])' "$work/copy$n" >"$out/localcopy/gen$n"
done
cp "$work/copy1" "$out/localcopy/copy1"
ls -l "$out"/manifest "$out"/chunk "$out"/pindex "$out"/localcopy

/*
 * store_chunk.c - libFuzzer target for the chunk decoder (chunk_decode,
 * src/store/chunk.c).
 *
 * Input: the SHA-256 the manifest names (32 bytes), the plain length it
 * gives (4 bytes little-endian, taken modulo CHUNK_MAX, 0 meaning
 * CHUNK_MAX), then the stored object (format byte, zstd or raw payload).
 * A decode that succeeds must have produced bytes with that hash.  The
 * object's bytes are also encoded as a plain chunk and must decode back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

#define PREFIX (HASH_LEN + 4)

static void decode(const uint8_t *h, size_t plain_len, const uint8_t *obj,
		   size_t objlen)
{
	uint8_t *dst = malloc(plain_len), got[HASH_LEN];

	if (!dst)
		return;
	if (chunk_decode(obj, objlen, h, dst, plain_len) == 0 &&
	    (chunk_hash(dst, plain_len, got) < 0 || memcmp(got, h, HASH_LEN)))
		abort();
	free(dst);
}

/* chunk_decode(chunk_encode(p)) == p */
static void roundtrip(const uint8_t *plain, size_t len)
{
	struct buf enc = { 0 };
	uint8_t h[HASH_LEN], *back = malloc(len);

	if (!back || chunk_hash(plain, len, h) < 0 || chunk_encode(plain, len, &enc) < 0)
		abort();
	if (chunk_decode(enc.data, enc.len, h, back, len) < 0 || memcmp(back, plain, len))
		abort();
	free(back);
	buf_free(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t plain_len;

	if (size < PREFIX)
		return 0;
	plain_len = ((size_t)data[HASH_LEN] | (size_t)data[HASH_LEN + 1] << 8 |
		     (size_t)data[HASH_LEN + 2] << 16 |
		     (size_t)data[HASH_LEN + 3] << 24) % CHUNK_MAX;
	if (plain_len == 0)
		plain_len = CHUNK_MAX;
	decode(data, plain_len, data + PREFIX, size - PREFIX);
	if (size > PREFIX && size - PREFIX <= CHUNK_MAX)
		roundtrip(data + PREFIX, size - PREFIX);
	return 0;
}

/*
 * seal.h - for the fuzz targets of text that ends in its own SHA-256 line
 * (the store manifest): the input with that line made right, so that
 * mutations reach the parser behind the checksum.
 */
#ifndef PC_FUZZ_SEAL_H
#define PC_FUZZ_SEAL_H

#include <stdint.h>
#include <string.h>

#include "store/internal.h"

/* data without its last line if that is "sha256 ...", then the right one. */
static inline int fuzz_seal(const uint8_t *data, size_t size, struct buf *out)
{
	const size_t tail = sizeof("sha256 ") - 1 + HASH_LEN * 2 + 1;
	uint8_t sum[HASH_LEN];
	char hex[HASH_HEX];

	if (size >= tail && !memcmp(data + size - tail, "sha256 ", 7))
		size -= tail;
	if (buf_append(out, data, size) < 0 || chunk_hash(data, size, sum) < 0)
		return -1;
	hash_hex(sum, hex);
	return buf_printf(out, "sha256 %s\n", hex);
}

#endif

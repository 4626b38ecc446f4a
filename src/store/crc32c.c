/*
 * crc32c.c - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum a local copy carries over its bytes (localcopy.c): an error
 * detecting code for damage on this machine's disk, computed once when the
 * copy is written and checked when it is read.  With SSE 4.2 (found at run
 * time) the CPU's crc32 instruction does 8 bytes a step, several GB/s; a
 * table does a byte a step elsewhere.  Both give the same value.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "store/internal.h"

#define CRC32C_POLY 0x82F63B78u

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_make(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		table[i] = c;
	}
}

static uint32_t crc_table(uint32_t c, const uint8_t *p, size_t n)
{
	pthread_once(&table_once, table_make);
	while (n--)
		c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc_sse42(uint32_t c, const uint8_t *p, size_t n)
{
	uint64_t c64 = c;

	for (; n >= 8; n -= 8, p += 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c64 = __builtin_ia32_crc32di(c64, v);
	}
	c = (uint32_t)c64;
	for (; n; n--)
		c = __builtin_ia32_crc32qi(c, *p++);
	return c;
}

static int have_sse42(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("sse4.2");
}
#endif

uint32_t crc32c_update(uint32_t crc, const void *data, size_t len, int soft)
{
	uint32_t c = ~crc;

#if defined(__x86_64__)
	if (!soft && have_sse42())
		return ~crc_sse42(c, data, len);
#endif
	(void)soft;
	return ~crc_table(c, data, len);
}

uint32_t crc32c(const void *data, size_t len)
{
	return crc32c_update(0, data, len, 0);
}

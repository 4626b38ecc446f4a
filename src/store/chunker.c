/*
 * chunker.c - content-defined chunking with a gear rolling hash (as in FastCDC).
 *
 * A cut point depends only on the 64 bytes before it, so inserting or
 * removing bytes (a page appearing in the middle of a page image) moves
 * only the chunks around the change; all later chunks keep their content
 * and therefore their names.  Chunks are CHUNK_MIN..CHUNK_MAX bytes, about
 * CHUNK_AVG on random data.  The gear table comes from a fixed seed: it
 * must never change, or every stored chunk would stop deduplicating.
 */
#include <pthread.h>

#include "store/internal.h"

/* A position is a cut candidate when the top 32 bits of the gear hash are
 * below this: probability 1/(CHUNK_AVG - CHUNK_MIN) per byte, so chunks
 * average about CHUNK_AVG.  The candidates depend on content alone (not on
 * where the current chunk started), which makes the chunk sequence after a
 * change fall back onto the old cut points within a chunk or two.
 * (FastCDC's normalization, a stricter mask before the average size, gives
 * more even sizes but resynchronizes several chunks later.) */
#define CUT_THRESHOLD ((UINT64_C(1) << 32) / (CHUNK_AVG - CHUNK_MIN))

static uint64_t gear[256];
static pthread_once_t gear_once = PTHREAD_ONCE_INIT;

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void gear_init(void)
{
	uint64_t seed = UINT64_C(0x7069636f63656e74); /* "picocent" */

	for (int i = 0; i < 256; i++)
		gear[i] = splitmix64(&seed);
}

size_t chunker_next(const uint8_t *data, size_t len)
{
	size_t n, i;
	uint64_t fp = 0;

	if (len <= CHUNK_MIN)
		return len;
	pthread_once(&gear_once, gear_init);
	n = len < CHUNK_MAX ? len : CHUNK_MAX;
	/* Warm the hash up on the 64 bytes before the earliest cut. */
	for (i = CHUNK_MIN - 64; i < CHUNK_MIN; i++)
		fp = (fp << 1) + gear[data[i]];
	for (; i < n; i++) {
		fp = (fp << 1) + gear[data[i]];
		if ((fp >> 32) < CUT_THRESHOLD)
			return i + 1;
	}
	return n;
}

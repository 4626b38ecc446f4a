/*
 * crowd.c - one image restored many times at once: every copy is whole.
 *
 * t-crowd.sh restores the same image several times concurrently, lets all
 * copies run check 1 together, dumps them all concurrently, restores those
 * images concurrently and lets them run check 2.  So the program keeps
 * nothing in CHECK_DIR but go.N and writes only to its log.
 *
 * - 24 MiB of private anonymous memory (large enough to be restored
 *   lazily) in 1 MiB segments of pseudo-random data, checksummed
 * - 4 worker threads, each owning 2 segments that it rewrites with a new
 *   seed before every check (so copies diverge after the restore and the
 *   second dumps differ from the first image) and verifies at the check
 * - the main thread verifies every segment owned by no worker
 * Each copy prints "OK N" (or "FAIL N: ...") once per check.
 */
#include <sys/mman.h>

#include "check.h"

#define MB (1024u * 1024u)
#define SEGS 24
#define WORKERS 4
#define PER_WORKER 2

static uint8_t *mem;
static uint64_t seed[SEGS];
static uint64_t sum[SEGS];
static atomic_int want_check = -1, acks;

static uint8_t *seg(int i) { return mem + (size_t)i * MB; }

static void write_seg(int i, uint64_t s)
{
	seed[i] = s;
	ck_fill(seg(i), MB, s);
	sum[i] = ck_hash(seg(i), MB);
}

static void verify_seg(const char *who, int i)
{
	CK(ck_hash(seg(i), MB) == sum[i], "%s: segment %d (seed %llu) differs", who, i,
	   (unsigned long long)seed[i]);
}

static void *worker(void *arg)
{
	int w = (int)(intptr_t)arg, done = -1;
	char who[32];

	snprintf(who, sizeof(who), "worker %d", w);
	for (;;) {
		int n = atomic_load(&want_check);

		if (n == done) {
			ck_sleep_us(1000);
			continue;
		}
		for (int k = 0; k < PER_WORKER; k++)
			verify_seg(who, w * PER_WORKER + k);
		/* New data for the next cycle: copies diverge from here. */
		for (int k = 0; k < PER_WORKER; k++)
			write_seg(w * PER_WORKER + k, seed[w * PER_WORKER + k] * 31 + (uint64_t)n + 7);
		done = n;
		atomic_fetch_add(&acks, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	ck_init(argc, argv);
	mem = mmap(NULL, SEGS * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		ck_die("mmap");
	for (int i = 0; i < SEGS; i++)
		write_seg(i, (uint64_t)i * 104729 + 3);
	for (int w = 0; w < WORKERS; w++)
		if (pthread_create(&t, NULL, worker, (void *)(intptr_t)w))
			ck_die("pthread_create");
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		atomic_store(&acks, 0);
		atomic_store(&want_check, n);
		for (int i = WORKERS * PER_WORKER; i < SEGS; i++)
			verify_seg("main", i);
		ck_wait_acks(&acks, WORKERS, "workers");
		ck_report(n);
	}
}

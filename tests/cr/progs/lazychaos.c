/*
 * lazychaos.c - random map changes on lazily restored memory, checked
 * against a shadow of what every page must hold.
 *
 * A 64 MiB private anonymous region (restored lazily) of 16384 pages; the
 * shadow keeps each page's tag (0: the page must read as zero, else its
 * first word is the tag and its last word the tag's complement).  Check N
 * runs 1 s of random operations, before touching the region otherwise, so
 * they meet pages that are not in yet:
 * - write a page (new tag), or check a page against its tag;
 * - MADV_DONTNEED a run of pages (they must then read as zero), or punch
 *   it out and map fresh memory there (munmap, or mremap shrinking the run
 *   to half, then mmap MAP_FIXED): zeros too;
 * - mremap a run of pages to a spare place and back (MREMAP_FIXED), or
 *   mprotect it read-only and back (the VMA splits and merges again);
 * - fork: the child checks 64 random pages and exits with the verdict;
 * then every page is checked.  Each check uses another seed.
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include "check.h"

#define PG 4096u
#define NPAGES 16384u
#define SPARE_PAGES 256u
/* Runs never cross a UNIT boundary and punches take whole blocks of two
 * units, so a run always lies in one VMA: while the page server has the
 * region registered, fresh memory mapped into a hole is a VMA of its own
 * (it cannot merge with registered neighbours), and mremap fails with
 * EFAULT on a range over two VMAs. */
#define UNIT 128u

static uint8_t *region, *spare;
static uint64_t tag[NPAGES];
static uint64_t rng;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t *words(uint32_t p) { return (uint64_t *)(region + (size_t)p * PG); }

static void write_page(uint32_t p)
{
	uint64_t t = next() | 1;

	words(p)[0] = t;
	words(p)[PG / 8 - 1] = ~t;
	tag[p] = t;
}

static int page_ok(uint32_t p)
{
	const uint64_t *w = words(p);

	return tag[p] ? w[0] == tag[p] && w[PG / 8 - 1] == ~tag[p] : w[0] == 0 && w[PG / 8 - 1] == 0;
}

static void check_page(uint32_t p, const char *when)
{
	CK(page_ok(p), "%s: page %u holds %016llx, want tag %016llx", when, p,
	   (unsigned long long)words(p)[0], (unsigned long long)tag[p]);
}

static void discard(uint32_t p, uint32_t n)
{
	CK(madvise(region + (size_t)p * PG, (size_t)n * PG, MADV_DONTNEED) == 0,
	   "madvise: %s", strerror(errno));
	for (uint32_t i = 0; i < n; i++)
		tag[p + i] = 0;
}

/* Unmap the run's tail (all of it with munmap, its second half with an
 * mremap that shrinks it) and map fresh zero memory in the hole. */
static void punch(uint32_t p, uint32_t n, int shrink)
{
	uint8_t *at = region + (size_t)p * PG;
	uint32_t keep = shrink ? n / 2 : 0;

	if (shrink && keep &&
	    mremap(at, (size_t)n * PG, (size_t)keep * PG, 0) == MAP_FAILED) {
		ck_fail("mremap shrink: %s", strerror(errno));
		return;
	}
	if (!keep && munmap(at, (size_t)n * PG) != 0) {
		ck_fail("munmap: %s", strerror(errno));
		return;
	}
	if (mmap(at + (size_t)keep * PG, (size_t)(n - keep) * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
		ck_fail("mmap into the hole: %s", strerror(errno));
		return;
	}
	for (uint32_t i = keep; i < n; i++)
		tag[p + i] = 0;
}

static void move_away_and_back(uint32_t p, uint32_t n)
{
	uint8_t *at = region + (size_t)p * PG;

	if (mremap(at, (size_t)n * PG, (size_t)n * PG, MREMAP_MAYMOVE | MREMAP_FIXED, spare) == MAP_FAILED) {
		ck_fail("mremap away: %s", strerror(errno));
		return;
	}
	if (mremap(spare, (size_t)n * PG, (size_t)n * PG, MREMAP_MAYMOVE | MREMAP_FIXED, at) == MAP_FAILED)
		ck_fail("mremap back: %s", strerror(errno));
	/* The spare place is unmapped now: reserve it again. */
	if (mmap(spare, SPARE_PAGES * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		ck_fail("mmap spare: %s", strerror(errno));
}

static void protect_and_back(uint32_t p, uint32_t n)
{
	uint8_t *at = region + (size_t)p * PG;

	CK(mprotect(at, (size_t)n * PG, PROT_READ) == 0, "mprotect ro: %s", strerror(errno));
	check_page(p, "read-only");
	CK(mprotect(at, (size_t)n * PG, PROT_READ | PROT_WRITE) == 0, "mprotect rw: %s", strerror(errno));
}

static void fork_and_check(void)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		for (int i = 0; i < 64; i++)
			if (!page_ok((uint32_t)(next() % NPAGES)))
				_exit(1);
		_exit(0);
	}
	if (pid < 0) {
		ck_fail("fork: %s", strerror(errno));
		return;
	}
	CK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "a forked child found a page wrong (status 0x%x)", st);
}

static void one_op(void)
{
	uint32_t p = (uint32_t)(next() % NPAGES);
	uint32_t n = 1 + (uint32_t)(next() % UNIT);
	uint64_t what = next() % 100;

	if (p % UNIT + n > UNIT)
		n = UNIT - p % UNIT;
	if (what < 40)
		write_page(p);
	else if (what < 80)
		check_page(p, "random check");
	else if (what < 84)
		discard(p, n);
	else if (what < 88)
		punch(p / (2 * UNIT) * 2 * UNIT, 2 * UNIT, what & 1);
	else if (what < 93)
		move_away_and_back(p, n);
	else if (what < 98)
		protect_and_back(p, n);
	else
		fork_and_check();
}

int main(int argc, char **argv)
{
	ck_init(argc, argv);
	region = mmap(NULL, (size_t)NPAGES * PG, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	spare = mmap(NULL, SPARE_PAGES * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED || spare == MAP_FAILED)
		ck_die("mmap");
	rng = 0x243F6A8885A308D3ull;
	for (uint32_t p = 0; p < NPAGES; p++)
		if (p % 5)
			write_page(p);
	ck_ready();
	for (int n = 0;; n++) {
		double end;
		long ops = 0;

		ck_wait_go(n);
		rng = 0x13198A2E03707344ull * (uint64_t)(n + 1) + 1;
		end = ck_now() + 1.0;
		while (ck_now() < end && !ck_failures) {
			one_op();
			ops++;
		}
		for (uint32_t p = 0; p < NPAGES && !ck_failures; p++)
			check_page(p, "final");
		CK(ops > 1000, "only %ld operations", ops);
		ck_report(n);
	}
}

/*
 * lazymem.c - memory restored lazily (the page server, src/mem/) stays
 * right while the process changes its map before every page is in.
 *
 * t-lazy.sh restores with the background fill off (PICOCENTER_LAZY_FILL=0),
 * so every page below comes in through a fault, and checks that the
 * region is still registered with a userfaultfd when check N starts.
 *
 * - A: 32 MiB of private anonymous memory, 1 MiB segments each filled with
 *   its own pseudo-random data (expected checksums kept in a small table)
 * - B: 16 MiB where one page in four holds data and the rest were never
 *   touched: the untouched ones must read as zero
 * Check N, before touching A or B:
 * - fork: the child checks every segment and B, discards one segment
 *   (MADV_DONTNEED: it must then read zero), and reports
 * - MADV_DONTNEED on segment 1: zeros; written again
 * - mremap of segments 4-7 elsewhere and back: data intact both times
 * - munmap of segment 10 and a fresh mapping there: zeros; written again
 * - every segment and B checked
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include "check.h"

#define MB (1024u * 1024u)
#define PG 4096u
#define SEGS 32
#define B_LEN (16 * MB)

static uint8_t *a, *b, *spare;
static uint64_t seg_sum[SEGS];

static uint8_t *seg(int i) { return a + (size_t)i * MB; }

static void fill_seg(int i)
{
	ck_fill(seg(i), MB, (uint64_t)i * 7919 + 1);
}

static int is_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

static void check_segments(const char *when)
{
	for (int i = 0; i < SEGS; i++)
		CK(ck_hash(seg(i), MB) == seg_sum[i], "%s: segment %d differs", when, i);
}

static void check_b(const char *when)
{
	for (size_t p = 0; p < B_LEN / PG; p++) {
		uint8_t *pg = b + p * PG;

		if (p % 4 == 0)
			CK(pg[0] == (uint8_t)(p | 1) &&
			   pg[PG - 1] == (uint8_t)(p * 3), "%s: B page %zu lost its data", when, p);
		else
			CK(is_zero(pg, PG), "%s: B page %zu (never written) is not zero", when, p);
	}
}

static void child_checks(int n)
{
	check_segments("child");
	check_b("child");
	CK(madvise(seg(20), MB, MADV_DONTNEED) == 0, "child: madvise: %s", strerror(errno));
	CK(is_zero(seg(20), MB), "child: segment 20 not zero after MADV_DONTNEED");
	ck_child_report("kid", n);
	_exit(0);
}

static void check_fork(int n)
{
	pid_t pid = fork();
	int st;

	if (pid < 0) {
		ck_fail("fork: %s", strerror(errno));
		return;
	}
	if (pid == 0)
		child_checks(n);
	ck_collect("kid", n, 20);
	CK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "child did not exit cleanly");
}

static void check_dontneed(void)
{
	CK(madvise(seg(1), MB, MADV_DONTNEED) == 0, "madvise: %s", strerror(errno));
	CK(is_zero(seg(1), MB), "segment 1 not zero after MADV_DONTNEED");
	fill_seg(1);
}

static void check_mremap(void)
{
	uint8_t *moved = mremap(seg(4), 4 * MB, 4 * MB, MREMAP_MAYMOVE | MREMAP_FIXED, spare);

	if (moved == MAP_FAILED) {
		ck_fail("mremap away: %s", strerror(errno));
		return;
	}
	for (int i = 0; i < 4; i++)
		CK(ck_hash(moved + (size_t)i * MB, MB) == seg_sum[4 + i],
		   "segment %d differs after mremap", 4 + i);
	if (mremap(moved, 4 * MB, 4 * MB, MREMAP_MAYMOVE | MREMAP_FIXED, seg(4)) == MAP_FAILED)
		ck_die("mremap back");
}

static void check_munmap(void)
{
	CK(munmap(seg(10), MB) == 0, "munmap: %s", strerror(errno));
	if (mmap(seg(10), MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) == MAP_FAILED)
		ck_die("mmap over segment 10");
	CK(is_zero(seg(10), MB), "segment 10 not zero after munmap and a fresh mmap");
	fill_seg(10);
}

int main(int argc, char **argv)
{
	ck_init(argc, argv);
	a = mmap(NULL, SEGS * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	b = mmap(NULL, B_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* reserved (PROT_NONE) room for the mremap, away from A */
	spare = mmap(NULL, 4 * MB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED || b == MAP_FAILED || spare == MAP_FAILED)
		ck_die("mmap");
	for (int i = 0; i < SEGS; i++) {
		fill_seg(i);
		seg_sum[i] = ck_hash(seg(i), MB);
	}
	for (size_t p = 0; p < B_LEN / PG; p += 4) {
		b[p * PG] = (uint8_t)(p | 1);
		b[p * PG + PG - 1] = (uint8_t)(p * 3);
	}
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		check_fork(n);
		check_dontneed();
		check_mremap();
		check_munmap();
		check_segments("parent");
		check_b("parent");
		ck_report(n);
	}
}

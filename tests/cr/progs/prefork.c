/*
 * prefork.c - a prefork server's memory: the root (the master) fills
 * MEM_MB MiB of private anonymous memory, then forks NR_WORKERS workers
 * that share it copy-on-write.  After the fork:
 *   - each worker writes its own pattern into DIRTY pages of its own
 *     (those are no longer the master's: they must come back as the
 *     worker wrote them) and zeroes one page (it must read as zero, not as
 *     the master's);
 *   - the master rewrites one page (the workers keep the old content);
 *   - after each check each worker writes one more page it still shared
 *     with the master (a restored tree's worker writing what it inherited:
 *     the next dump, an incremental one from a store, must keep it).
 * At every check each process reads its whole area and compares it with
 * what it must hold (reading breaks no sharing).  The runner
 * (t-prefork.sh) compares the tree's summed Pss before the dump and after
 * the restore.
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "check.h"

#define MEM_MB 16
#define PAGE 4096ul
#define NR_PAGES (MEM_MB * 256ul)
#define NR_WORKERS 4
#define DIRTY 8                 /* pages each worker writes */
#define MASTER_PAGE 5           /* the page the master rewrites */

#define LATE_MAX 50             /* pages a worker writes after its checks */

static uint64_t *mem;
static int late;                /* pages this worker wrote after checks */

/* The word at page pg, index w, as writer `who` (0: the master at fork,
 * 1..: worker, 100: the master after the fork). */
static uint64_t word(uint64_t pg, uint64_t w, uint64_t who)
{
	return (pg * 0x9e3779b97f4a7c15ull) ^ (w * 0x100000001b3ull) ^ (who << 56) ^ 1;
}

static void fill_page(uint64_t pg, uint64_t who)
{
	for (uint64_t w = 0; w < PAGE / 8; w++)
		mem[pg * PAGE / 8 + w] = word(pg, w, who);
}

static uint64_t dirty_page(int worker, int k)
{
	return 64 + (uint64_t)worker * 97 + (uint64_t)k * 3;
}

static uint64_t zero_page_of(int worker)
{
	return 2000 + (uint64_t)worker;
}

static uint64_t late_page(int worker, int k)
{
	return 3000 + (uint64_t)worker * LATE_MAX + (uint64_t)k;
}

/* Who wrote page pg last, as seen by `me` (0: the master). */
static int64_t owner(int me, uint64_t pg)
{
	if (me == 0)
		return pg == MASTER_PAGE ? 100 : 0;
	if (pg == zero_page_of(me))
		return -1;              /* zero */
	if (pg >= late_page(me, 0) && pg < late_page(me, late))
		return me;
	for (int k = 0; k < DIRTY; k++)
		if (pg == dirty_page(me, k))
			return me;
	return 0;
}

static void check_mem(int me)
{
	int bad = 0;

	for (uint64_t pg = 0; pg < NR_PAGES && bad < 3; pg++) {
		int64_t who = owner(me, pg);

		for (uint64_t w = 0; w < PAGE / 8; w++) {
			uint64_t want = who < 0 ? 0 : word(pg, w, (uint64_t)who);

			if (mem[pg * PAGE / 8 + w] != want) {
				ck_fail("%s %d: page %llu word %llu is %#llx, want %#llx",
					me ? "worker" : "master", me, (unsigned long long)pg,
					(unsigned long long)w,
					(unsigned long long)mem[pg * PAGE / 8 + w],
					(unsigned long long)want);
				bad++;
				break;
			}
		}
	}
}

static void __attribute__((noreturn)) worker(int me)
{
	char who[16];

	snprintf(who, sizeof(who), "pf-w%d", me);
	prctl(PR_SET_NAME, who);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (int k = 0; k < DIRTY; k++)
		fill_page(dirty_page(me, k), (uint64_t)me);
	memset(&mem[zero_page_of(me) * PAGE / 8], 0, PAGE);
	ck_child_report(who, -1);
	for (int n = 0;; n++) {
		ck_wait_go(n);
		check_mem(me);
		if (late < LATE_MAX)
			fill_page(late_page(me, late++), (uint64_t)me);
		ck_child_report(who, n);
	}
}

int main(int argc, char **argv)
{
	char who[16];

	ck_init(argc, argv);
	mem = mmap(NULL, NR_PAGES * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		ck_die("mmap %d MiB", MEM_MB);
	for (uint64_t pg = 0; pg < NR_PAGES; pg++)
		fill_page(pg, 0);
	for (int i = 1; i <= NR_WORKERS; i++) {
		pid_t p = fork();

		if (p < 0)
			ck_die("fork");
		if (p == 0)
			worker(i);
	}
	for (int i = 1; i <= NR_WORKERS; i++) {
		snprintf(who, sizeof(who), "pf-w%d", i);
		ck_collect(who, -1, 10);
	}
	fill_page(MASTER_PAGE, 100);
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		check_mem(0);
		for (int i = 1; i <= NR_WORKERS; i++) {
			snprintf(who, sizeof(who), "pf-w%d", i);
			ck_collect(who, n, 10);
		}
		ck_report(n);
	}
}

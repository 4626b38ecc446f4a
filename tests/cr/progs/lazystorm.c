/*
 * lazystorm.c - faults on lazily restored memory while the process forks
 * and changes its map all the time.
 *
 * Every UFFD event (fork, munmap, MADV_DONTNEED) blocks the page server's
 * copies with EAGAIN until it is read, so faults arriving meanwhile must
 * wait and be answered later.  A fault left unanswered hangs its thread
 * for good: the check then times out.
 *
 * Memory: 48 MiB of private anonymous memory in 1 MiB segments of
 * pseudo-random data, plus a 1 MiB scratch segment in the same mapping.
 * Check N (after a restore with the background fill off): for 1.5 s,
 * - 3 reader threads read random pages of the data segments, each page
 *   compared with its expected first and last word;
 * - the main thread forks children that exit at once, and MADV_DONTNEEDs
 *   and rewrites the scratch segment, in a loop;
 * then every data segment is checksummed.
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include "check.h"

#define MB (1024u * 1024u)
#define PG 4096u
#define SEGS 48
#define READERS 3

static uint8_t *mem;
static uint64_t sum[SEGS];
static atomic_int stop, reads_done;

static uint8_t *seg(int i) { return mem + (size_t)i * MB; }

static uint64_t page_word(size_t page, int last)
{
	return page * 0x9E3779B97F4A7C15ull + (last ? 77 : 13);
}

static void write_seg(int i)
{
	ck_fill(seg(i), MB, (uint64_t)i * 31337 + 5);
	for (size_t p = 0; p < MB / PG; p++) {
		size_t page = (size_t)i * (MB / PG) + p;
		uint64_t *w = (uint64_t *)(seg(i) + p * PG);

		w[0] = page_word(page, 0);
		w[PG / 8 - 1] = page_word(page, 1);
	}
	sum[i] = ck_hash(seg(i), MB);
}

static void *reader(void *arg)
{
	uint64_t x = (uint64_t)(intptr_t)arg * 2654435761u + 1;
	int n = 0;

	while (!atomic_load(&stop)) {
		size_t page;
		uint64_t *w;

		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		page = (size_t)(x % (SEGS * (MB / PG)));
		w = (uint64_t *)(mem + page * PG);
		CK(w[0] == page_word(page, 0) && w[PG / 8 - 1] == page_word(page, 1),
		   "page %zu reads wrong", page);
		n++;
	}
	atomic_fetch_add(&reads_done, n);
	return NULL;
}

static void storm(void)
{
	uint8_t *scratch = seg(SEGS);
	double end = ck_now() + 1.5;
	int forks = 0;

	while (ck_now() < end) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		if (pid < 0) {
			ck_fail("fork: %s", strerror(errno));
			break;
		}
		waitpid(pid, NULL, 0);
		forks++;
		CK(madvise(scratch, MB, MADV_DONTNEED) == 0, "madvise: %s", strerror(errno));
		memset(scratch, forks & 0xff, MB);
	}
	CK(forks > 10, "only %d forks", forks);
}

int main(int argc, char **argv)
{
	ck_init(argc, argv);
	mem = mmap(NULL, (SEGS + 1) * MB, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		ck_die("mmap");
	for (int i = 0; i < SEGS; i++)
		write_seg(i);
	memset(seg(SEGS), 1, MB);
	ck_ready();
	for (int n = 0;; n++) {
		pthread_t th[READERS];

		ck_wait_go(n);
		atomic_store(&stop, 0);
		atomic_store(&reads_done, 0);
		for (int r = 0; r < READERS; r++)
			if (pthread_create(&th[r], NULL, reader, (void *)(intptr_t)(r + n * READERS)))
				ck_die("pthread_create");
		storm();
		atomic_store(&stop, 1);
		for (int r = 0; r < READERS; r++)
			pthread_join(th[r], NULL);
		CK(atomic_load(&reads_done) > 1000, "only %d reads", atomic_load(&reads_done));
		for (int i = 0; i < SEGS; i++)
			CK(ck_hash(seg(i), MB) == sum[i], "segment %d differs", i);
		ck_report(n);
	}
}

/*
 * memory.c - the address space survives checkpoint/restore.
 *
 * - private anonymous 8 MB (MADV_HUGEPAGE) of random data: checksum; a few
 *   pages rewritten before each cycle so every image differs
 * - zeros: 4 MB never touched, 1 MB written with zeros, 1 MB alternating
 *   zero and random pages: all read back as they were
 * - private file mapping (RW) of a 64 KB file with two modified pages: the
 *   copies keep the change, other pages show the file, the file unchanged;
 *   and a read-only private mapping of the same file
 * - MAP_SHARED anonymous 1 MB shared with a child: after the cycle the child
 *   writes its half, the parent reads it (and the other way round)
 * - a memfd (fd closed) mapped twice by the parent at different offsets and
 *   inherited by the child: a write through one mapping shows in the other
 * - the child's copy-on-write view of the private region is still the data
 *   it inherited at fork
 * - brk heap: data intact, sbrk(0) unchanged, sbrk grows after the cycle
 * - a 2000-frame recursion, each frame with a checksummed local buffer: the
 *   check runs at the bottom, every frame verifies its buffer on the way up
 * - a PROT_NONE guard page between two RW pages; an mprotect'ed read-only
 *   region: data intact, protections as in /proc/self/maps and enforced
 *   (faults probed with SIGSEGV + siglongjmp)
 * - vDSO: at the address AT_SYSINFO_EHDR says, clock_gettime/gettimeofday/
 *   time work and agree with the raw system call
 */
#include <malloc.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include "check.h"

#define MB (1024 * 1024)
#define PG 4096

static uint8_t *priv, *untouched, *zeros, *mixed, *fmap, *fmap_ro, *shared, *mfd_a, *mfd_b;
static uint8_t *guard, *ro;
static uint64_t priv_sum, priv_sum_fork, ro_sum;
static char fpath[4096];
static uint8_t *heap_start;
static void *brk_now;
static pid_t kid;

static uint8_t *map(size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		ck_die("mmap %zu", len);
	return p;
}

static int all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i += 8)
		if (*(const uint64_t *)(p + i))
			return 0;
	return 1;
}

/* Fault probing. */
static sigjmp_buf probe_jb;
static void *probe_addr;

static volatile int probing;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	if (!probing)
		ck_on_crash(sig, si, uc);
	probe_addr = si->si_addr;
	siglongjmp(probe_jb, 1);
}

/* 1 if the access faulted at p. */
static int faults(volatile uint8_t *p, int write)
{
	probe_addr = NULL;
	probing = 1;
	if (sigsetjmp(probe_jb, 1) == 0) {
		if (write)
			*p = 1;
		else
			(void)*p;
		probing = 0;
		return 0;
	}
	probing = 0;
	return probe_addr == (void *)p;
}

/* The protection string of the mapping holding addr in /proc/self/maps. */
static void maps_prot(const void *addr, char prot[5])
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	strcpy(prot, "????");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		char p[5];

		if (sscanf(line, "%lx-%lx %4s", &a, &b, p) == 3 &&
		    (unsigned long)addr >= a && (unsigned long)addr < b)
			memcpy(prot, p, 5);
	}
	if (f)
		fclose(f);
}

static void fpattern(uint8_t *buf, size_t len, int page)
{
	memset(buf, 'a' + page, len);
}

static void check_file_map(void)
{
	uint8_t want[PG], got[PG];
	int fd = open(fpath, O_RDONLY);

	for (int p = 0; p < 16; p++) {
		fpattern(want, PG, p);
		if (p == 2 || p == 5)
			memset(want, 'X' + (p == 5), PG);
		CK(!memcmp(fmap + p * PG, want, PG), "private file mapping: page %d wrong", p);
		fpattern(want, PG, p);
		CK(!memcmp(fmap_ro + p * PG, want, PG), "read-only file mapping: page %d wrong", p);
		CK(fd >= 0 && pread(fd, got, PG, p * PG) == PG && !memcmp(got, want, PG),
		   "file itself: page %d changed", p);
	}
	if (fd >= 0)
		close(fd);
}

static void check_time(void)
{
	struct timespec v, s;
	struct timeval tv;
	static struct timespec last;
	char prot[5];
	unsigned long vdso = getauxval(AT_SYSINFO_EHDR);

	maps_prot((void *)vdso, prot);
	CK(!strcmp(prot, "r-xp"), "no vDSO mapping at AT_SYSINFO_EHDR %#lx (%s)", vdso, prot);
	CK(clock_gettime(CLOCK_MONOTONIC, &v) == 0, "clock_gettime");
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &s);
	CK(llabs((s.tv_sec - v.tv_sec) * 1000000000ll + (s.tv_nsec - v.tv_nsec)) < 50000000,
	   "vDSO CLOCK_MONOTONIC %ld.%09ld vs syscall %ld.%09ld", (long)v.tv_sec, v.tv_nsec,
	   (long)s.tv_sec, s.tv_nsec);
	CK(v.tv_sec > last.tv_sec || (v.tv_sec == last.tv_sec && v.tv_nsec >= last.tv_nsec),
	   "CLOCK_MONOTONIC went backwards");
	last = v;
	clock_gettime(CLOCK_REALTIME, &v);
	syscall(SYS_clock_gettime, CLOCK_REALTIME, &s);
	CK(llabs(s.tv_sec - v.tv_sec) <= 1, "vDSO CLOCK_REALTIME off by %lld s",
	   (long long)(s.tv_sec - v.tv_sec));
	CK(gettimeofday(&tv, NULL) == 0 && llabs(tv.tv_sec - s.tv_sec) <= 1, "gettimeofday");
	CK(llabs(time(NULL) - s.tv_sec) <= 1, "time()");
}

static void check_protections(void)
{
	char prot[5];

	CK(guard[0] == 0x11 && guard[2 * PG] == 0x22, "pages around the guard lost data");
	maps_prot(guard + PG, prot);
	CK(!strcmp(prot, "---p"), "guard page is %s in maps", prot);
	CK(faults(guard + PG + 8, 0), "reading the guard page does not fault");
	CK(!faults(guard + 2 * PG, 1), "page after the guard not writable");
	guard[2 * PG] = 0x22;
	maps_prot(ro, prot);
	CK(!strcmp(prot, "r--p"), "read-only region is %s in maps", prot);
	CK(ck_hash(ro, 64 * 1024) == ro_sum, "read-only region data changed");
	CK(faults(ro + 100, 1), "writing the read-only region does not fault");
}

static void check_heap(void)
{
	void *b = sbrk(0), *grown;

	CK(b == brk_now, "brk is %p, was %p", b, brk_now);
	for (int i = 0; i < 64 * 1024; i++)
		if (heap_start[i] != (uint8_t)(i * 7)) {
			ck_fail("heap data changed at +%d", i);
			break;
		}
	grown = sbrk(PG);
	CK(grown == b, "sbrk(4096) returned %p, want %p (%s)", grown, b,
	   grown == (void *)-1 ? strerror(errno) : "");
	if (grown != (void *)-1) {
		memset(grown, 0x5a, PG);
		CK(sbrk(0) == (uint8_t *)b + PG, "brk did not move by a page");
	}
	brk_now = sbrk(0);
}

/* In the child, at each check: write its half of the shared region. */
static void kid_check(int n)
{
	CK(ck_hash(priv, 8 * MB) == priv_sum_fork, "child: its copy of the private region changed");
	for (int i = 0; i < 512 * 1024; i++)
		CK(shared[i] == (uint8_t)(n + i) || (i = 1 << 30, 0), "child: parent's half wrong at %d", i);
	memset(shared + 512 * 1024, (uint8_t)(n * 3 + 1), 512 * 1024);
	CK(mfd_a[0] == (uint8_t)(n + 100), "child: memfd value %d, want %d", mfd_a[0], n + 100);
}

static void parent_check(int n)
{
	for (int i = 512 * 1024; i < 1024 * 1024; i++)
		if (shared[i] != (uint8_t)(n * 3 + 1)) {
			ck_fail("MAP_SHARED: child's write not seen at %d", i);
			break;
		}
	/* Two mappings of one memfd: page 1 of a is page 0 of b. */
	mfd_a[PG + 5] = (uint8_t)(n + 50);
	CK(mfd_b[5] == (uint8_t)(n + 50), "memfd: write via one mapping not seen via the other");
	CK(all_zero(mfd_a + 2 * PG, 62 * PG), "memfd: untouched pages not zero");
}

static void rearm(int n)
{
	for (int i = 0; i < 4; i++)
		ck_fill(priv + ((size_t)(n * 37 + i * 511) % 2048) * PG, PG, (uint64_t)(n * 10 + i));
	priv_sum = ck_hash(priv, 8 * MB);
	for (int i = 0; i < 512 * 1024; i++)
		shared[i] = (uint8_t)(n + 1 + i);
	mfd_a[0] = (uint8_t)(n + 1 + 100);
}

static void check_all(int n)
{
	CK(ck_hash(priv, 8 * MB) == priv_sum, "private anonymous memory checksum differs");
	CK(all_zero(untouched, 4 * MB), "never-touched memory is not zero");
	CK(all_zero(zeros, MB), "zero-filled memory is not zero");
	for (int p = 0; p < 256; p++) {
		uint64_t page[PG / 8];

		ck_fill(page, PG, (uint64_t)p + 1000);
		CK(p % 2 ? !memcmp(mixed + p * PG, page, PG) : all_zero(mixed + p * PG, PG),
		   "zero/data alternating region: page %d wrong", p);
	}
	check_file_map();
	check_time();
	check_protections();
	check_heap();
	ck_collect("kid", n, 5);
	parent_check(n);
}

/* The deep stack: check at the bottom, verify every frame going up. */
static int wait_n;

static __attribute__((noinline)) void bottom(void)
{
	ck_wait_go(wait_n);
	check_all(wait_n);
}

static __attribute__((noinline)) void deep(int depth)
{
	uint64_t buf[64];
	uint64_t sum;

	ck_fill(buf, sizeof(buf), (uint64_t)depth * 31 + 7);
	sum = ck_hash(buf, sizeof(buf));
	if (depth > 0) {
		deep(depth - 1);
	} else {
		bottom();
	}
	CK(ck_hash(buf, sizeof(buf)) == sum, "stack frame %d: local buffer changed", depth);
	__asm__ volatile("" ::: "memory");
}

static void setup(void)
{
	struct sigaction sa = { 0 };
	int fd;

	mallopt(M_MMAP_THRESHOLD, 0);     /* malloc never moves the brk */
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);

	priv = map(8 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	madvise(priv, 8 * MB, MADV_HUGEPAGE);
	ck_fill(priv, 8 * MB, 42);
	untouched = map(4 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	zeros = map(MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(zeros, 0, MB);
	mixed = map(MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int p = 1; p < 256; p += 2)
		ck_fill(mixed + p * PG, PG, (uint64_t)p + 1000);

	snprintf(fpath, sizeof(fpath), "%s/mapped-file", ck_dir);
	fd = open(fpath, O_RDWR | O_CREAT | O_TRUNC, 0644);
	for (int p = 0; p < 16; p++) {
		uint8_t buf[PG];

		fpattern(buf, PG, p);
		if (fd < 0 || write(fd, buf, PG) != PG)
			ck_die("write %s", fpath);
	}
	fmap = map(16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	fmap_ro = map(16 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	memset(fmap + 2 * PG, 'X', PG);
	memset(fmap + 5 * PG, 'Y', PG);

	shared = map(MB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	fd = memfd_create("cr-memory", 0);
	if (fd < 0 || ftruncate(fd, 64 * PG) < 0)
		ck_die("memfd");
	mfd_a = map(64 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	mfd_b = map(4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PG);
	close(fd);

	guard = map(3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	guard[0] = 0x11;
	guard[2 * PG] = 0x22;
	mprotect(guard + PG, PG, PROT_NONE);
	ro = map(64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_fill(ro, 64 * 1024, 99);
	ro_sum = ck_hash(ro, 64 * 1024);
	mprotect(ro, 64 * 1024, PROT_READ);

	heap_start = sbrk(64 * 1024);
	if (heap_start == (void *)-1)
		ck_die("sbrk");
	for (int i = 0; i < 64 * 1024; i++)
		heap_start[i] = (uint8_t)(i * 7);
	brk_now = sbrk(0);
}

int main(int argc, char **argv)
{
	ck_init(argc, argv);
	setup();
	rearm(-1);
	priv_sum_fork = priv_sum;
	kid = fork();
	if (kid < 0)
		ck_die("fork");
	if (kid == 0) {
		for (int n = 0;; n++) {
			ck_wait_go(n);
			kid_check(n);
			ck_child_report("kid", n);
		}
	}
	ck_ready();
	for (int n = 0;; n++) {
		wait_n = n;
		deep(2000);
		rearm(n);
		ck_report(n);
	}
}

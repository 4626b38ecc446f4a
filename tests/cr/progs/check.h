/*
 * check.h - the self-check protocol shared by the cr test programs.
 *
 * Every program is started as `PROG CHECK_DIR [ARGS...]` (by `picocenter cr
 * spawn`, stdout appended to a log).  It sets its state up, prints "READY",
 * then for n = 0, 1, 2, ... waits until the file CHECK_DIR/go.N exists,
 * checks its own state, re-arms whatever the check consumed (a new zombie,
 * new pending signals...) and prints exactly one line "OK N" or
 * "FAIL N: reason".  tests/cr/lib.sh dumps and restores the tree between two
 * checks.  Other processes of a tree report to the root through the files
 * CHECK_DIR/res.WHO.N ("OK" or the failure text); CHECK_DIR is mode 1777 so
 * that children that dropped privileges can write there.
 *
 * Everything is static: each progs/NAME.c is a whole program.  Output goes
 * through write(2) (never stdio buffers, which fork would duplicate).
 */
#ifndef CR_CHECK_H
#define CR_CHECK_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *ck_dir;
static void ck_catch_crashes(void);
static pthread_mutex_t ck_lock = PTHREAD_MUTEX_INITIALIZER;
static char ck_msg[2048];
static int ck_failures;

__attribute__((format(printf, 1, 2), unused))
static void ck_say(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if (len > (int)sizeof(buf) - 2)
		len = (int)sizeof(buf) - 2;
	buf[len++] = '\n';
	if (write(1, buf, (size_t)len) < 0)
		_exit(3);
}

/* Record a failure of the current check (any thread). */
__attribute__((format(printf, 1, 2), unused))
static void ck_fail(const char *fmt, ...)
{
	char one[512];
	va_list ap;
	size_t used;

	va_start(ap, fmt);
	vsnprintf(one, sizeof(one), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&ck_lock);
	used = strlen(ck_msg);
	if (ck_failures < 6 && used + 4 < sizeof(ck_msg))
		snprintf(ck_msg + used, sizeof(ck_msg) - used, "%s%s",
			 used ? "; " : "", one);
	ck_failures++;
	pthread_mutex_unlock(&ck_lock);
}

#define CK(cond, ...) do { if (!(cond)) ck_fail(__VA_ARGS__); } while (0)

/* Print the verdict of check n and reset for the next one. */
__attribute__((unused))
static int ck_report(int n)
{
	int bad;

	pthread_mutex_lock(&ck_lock);
	bad = ck_failures;
	if (bad)
		ck_say("FAIL %d: %s%s", n, ck_msg, bad > 6 ? " (and more)" : "");
	else
		ck_say("OK %d", n);
	ck_msg[0] = '\0';
	ck_failures = 0;
	pthread_mutex_unlock(&ck_lock);
	return bad ? -1 : 0;
}

/* Fatal set-up error: the runner sees a FAIL line instead of READY. */
__attribute__((format(printf, 1, 2), noreturn, unused))
static void ck_die(const char *fmt, ...)
{
	char one[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(one, sizeof(one), fmt, ap);
	va_end(ap);
	ck_say("FAIL setup: %s (errno %d %s)", one, errno, strerror(errno));
	exit(2);
}

__attribute__((unused))
static void ck_init(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s CHECK_DIR [ARGS...]\n", argv[0]);
		exit(2);
	}
	ck_dir = argv[1];
	ck_catch_crashes();
}

__attribute__((unused))
static void ck_ready(void)
{
	ck_say("READY");
}

/* Sleep the whole interval even across signal handlers. */
__attribute__((unused))
static void ck_sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

__attribute__((unused))
static double ck_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((unused))
static int ck_exists(const char *what, int n)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s.%d", ck_dir, what, n);
	return access(path, F_OK) == 0;
}

/* Wait (polling every 2 ms, forever) for the runner's go.N. */
__attribute__((unused))
static void ck_wait_go(int n)
{
	while (!ck_exists("go", n))
		ck_sleep_us(2000);
}

/* Wait up to 5 s until *acks reaches want threads; fewer is a failure. */
__attribute__((unused))
static void ck_wait_acks(atomic_int *acks, int want, const char *who)
{
	double end = ck_now() + 5;

	while (atomic_load(acks) < want && ck_now() < end)
		ck_sleep_us(1000);
	CK(atomic_load(acks) >= want, "only %d of %d %s checked in", atomic_load(acks), want, who);
}

/* In a non-root process of the tree: publish this check's verdict. */
__attribute__((unused))
static void ck_child_report(const char *who, int n)
{
	char path[4096], tmp[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/res.%s.%d", ck_dir, who, n);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	pthread_mutex_lock(&ck_lock);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	if (fd >= 0) {
		const char *s = ck_failures ? ck_msg : "OK";

		if (write(fd, s, strlen(s)) < 0 || close(fd) < 0 || rename(tmp, path) < 0)
			ck_say("FAIL %d: %s cannot write its result: %s", n, who, strerror(errno));
	} else {
		ck_say("FAIL %d: %s cannot create %s: %s", n, who, tmp, strerror(errno));
	}
	ck_msg[0] = '\0';
	ck_failures = 0;
	pthread_mutex_unlock(&ck_lock);
}

/* In the root: wait up to timeout_s for WHO's verdict of check n. */
__attribute__((unused))
static void ck_collect(const char *who, int n, double timeout_s)
{
	char path[4096], buf[1024];
	double end = ck_now() + timeout_s;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "%s/res.%s.%d", ck_dir, who, n);
	while ((fd = open(path, O_RDONLY)) < 0) {
		if (ck_now() > end) {
			ck_fail("%s did not report within %.0f s", who, timeout_s);
			return;
		}
		ck_sleep_us(2000);
	}
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[len > 0 ? len : 0] = '\0';
	if (strcmp(buf, "OK") != 0)
		ck_fail("%s: %s", who, buf);
}

/*
 * Crash reporting: a fatal signal prints "FAIL crash: ..." (with the faulting
 * address and instruction pointer) so that a bad restore that kills the
 * program still says where.  Programs call ck_catch_crashes() at start.
 */
#include <signal.h>
#include <ucontext.h>

__attribute__((unused))
static void ck_on_crash(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	char buf[160];
	int len;

	len = snprintf(buf, sizeof(buf), "FAIL crash: signal %d (%s) at addr %p, pc %#llx, pid %d tid %d\n",
		       sig, sigabbrev_np(sig), si->si_addr,
		       (unsigned long long)uc->uc_mcontext.gregs[REG_RIP], getpid(), gettid());
	if (write(1, buf, (size_t)len) < 0)
		_exit(99);
	_exit(99);
}

__attribute__((unused))
static void ck_catch_crashes(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct sigaction sa = { 0 };

	sa.sa_sigaction = ck_on_crash;
	sa.sa_flags = SA_SIGINFO;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* A 64-bit hash of memory, a word at a time (len multiple of 8). */
__attribute__((unused))
static uint64_t ck_hash(const void *p, size_t len)
{
	const uint64_t *w = p;
	uint64_t h = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < len / 8; i++) {
		h ^= w[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 29;
	}
	return h;
}

/* Fill with pseudo-random, never-zero words derived from seed. */
__attribute__((unused))
static void ck_fill(void *p, size_t len, uint64_t seed)
{
	uint64_t *w = p, x = seed | 1;

	for (size_t i = 0; i < len / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x | 1;
	}
}

/*
 * The floating-point work of the fpu and combined programs: a double
 * accumulator advanced step by step.  The same noinline function run again
 * from a known starting point must give the same bits.
 */
__attribute__((noinline, unused))
static double ck_fp_step(double acc, long i)
{
	double x = (double)i * 1e-3;

	return acc * 0.999999 + x / (1.0 + x * x) + 1.0 / (double)(i + 3);
}

#endif

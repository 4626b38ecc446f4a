/*
 * sleeps.c - a sleep interrupted by the dump ends on time after a restore.
 *
 * Four threads each sleep SLEEP_MS once, started together before READY:
 * nanosleep(2) with a separate "remaining" buffer, nanosleep with the
 * request as its own remaining buffer (what glibc's sleep() does),
 * clock_nanosleep(2) CLOCK_MONOTONIC relative, and clock_nanosleep
 * TIMER_ABSTIME.  The runner dumps about 1.5 s into the sleep and restores
 * at once.  Check 0 only sees all four asleep; check 1 waits for them and
 * requires each to have slept between SLEEP_MS and SLEEP_MS + SLACK_MS of
 * wall time, which only holds when the restored sleep continued with the
 * remaining time instead of starting its full duration over.  The system
 * calls are made directly so that the kernel's calls, not glibc's, are
 * the ones tested.
 */
#include <sys/syscall.h>

#include "check.h"

#define SLEEP_MS 3000
#define SLACK_MS 1200
#define NSLEEPERS 4

enum kind { NANO_REM, NANO_SELF, CLOCK_REL, CLOCK_ABS };

static const char *const kind_name[NSLEEPERS] = {
	"nanosleep", "nanosleep(req, req)", "clock_nanosleep", "clock_nanosleep abstime",
};

static double slept_ms[NSLEEPERS];
static atomic_int asleep, awake;

static long sleep_once(enum kind k)
{
	struct timespec req = { SLEEP_MS / 1000, (SLEEP_MS % 1000) * 1000000L }, rem;
	struct timespec when;

	switch (k) {
	case NANO_REM:
		return syscall(SYS_nanosleep, &req, &rem);
	case NANO_SELF:
		return syscall(SYS_nanosleep, &req, &req);
	case CLOCK_REL:
		return syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &req, &rem);
	case CLOCK_ABS:
		clock_gettime(CLOCK_MONOTONIC, &when);
		when.tv_sec += SLEEP_MS / 1000;
		return syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &when, NULL);
	}
	return -1;
}

static void *sleeper(void *arg)
{
	enum kind k = (enum kind)(intptr_t)arg;
	double t0 = ck_now();
	long rc;

	atomic_fetch_add(&asleep, 1);
	rc = sleep_once(k);
	slept_ms[k] = (ck_now() - t0) * 1000;
	if (rc != 0)
		ck_fail("%s returned %ld (errno %d %s)", kind_name[k], rc, errno, strerror(errno));
	atomic_fetch_add(&awake, 1);
	return NULL;
}

static void check_slept(void)
{
	double end = ck_now() + (SLEEP_MS + 4 * SLACK_MS) / 1000.0;
	int k;

	while (atomic_load(&awake) < NSLEEPERS && ck_now() < end)
		ck_sleep_us(5000);
	CK(atomic_load(&awake) == NSLEEPERS, "only %d of %d sleepers woke up",
	   atomic_load(&awake), NSLEEPERS);
	for (k = 0; k < NSLEEPERS; k++)
		CK(slept_ms[k] >= SLEEP_MS - 5 && slept_ms[k] <= SLEEP_MS + SLACK_MS,
		   "%s slept %.0f ms of wall time, not %d (+ up to %d)",
		   kind_name[k], slept_ms[k], SLEEP_MS, SLACK_MS);
}

int main(int argc, char **argv)
{
	pthread_t t;
	int k;

	ck_init(argc, argv);
	for (k = 0; k < NSLEEPERS; k++)
		if (pthread_create(&t, NULL, sleeper, (void *)(intptr_t)k))
			ck_die("pthread_create");
	while (atomic_load(&asleep) < NSLEEPERS)
		ck_sleep_us(1000);
	ck_ready();
	ck_wait_go(0);
	CK(atomic_load(&awake) == 0, "%d sleepers woke before the dump", atomic_load(&awake));
	ck_report(0);
	ck_wait_go(1);
	check_slept();
	ck_report(1);
	for (;;)
		ck_sleep_us(1000000);
}

/*
 * timers.c - interval and POSIX timers survive checkpoint/restore.
 *
 * - setitimer ITIMER_REAL (20 ms interval) and ITIMER_VIRTUAL (10 ms; a
 *   thread burns a little CPU so it advances) keep firing after the cycle,
 *   with the same interval and a remaining time within it.
 * - POSIX timers with kernel ids kept: a periodic CLOCK_MONOTONIC timer
 *   (SIGEV_SIGNAL, 15 ms), a periodic CLOCK_REALTIME one aimed at a thread
 *   (SIGEV_THREAD_ID, 25 ms), a disarmed one, a one-shot 1000 s SIGEV_NONE
 *   one.  timer_gettime must work on every saved id (an id that changed is
 *   EINVAL) with the right interval; the periodic ones must keep firing, with
 *   si_timerid and si_value of the right timer, to the right thread; the
 *   one-shot's remaining time never grows and stays within (0, 1000 s].
 */
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include "check.h"

#define SIG_MONO (SIGRTMIN + 1)
#define SIG_THR (SIGRTMIN + 2)

static atomic_int n_real, n_virt, n_mono, n_thr, bad_info;
static pid_t thr_tid;
static timer_t t_mono, t_thr, t_off, t_none;
static int64_t none_left = INT64_MAX;

static void on_alarm(int sig)
{
	atomic_fetch_add(sig == SIGALRM ? &n_real : &n_virt, 1);
}

static void on_timer(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (sig == SIG_MONO) {
		if (si->si_code != SI_TIMER || si->si_timerid != (int)(intptr_t)t_mono ||
		    si->si_value.sival_int != 1111)
			atomic_fetch_add(&bad_info, 1);
		atomic_fetch_add(&n_mono, 1);
	} else {
		if (si->si_code != SI_TIMER || si->si_timerid != (int)(intptr_t)t_thr ||
		    si->si_value.sival_int != 2222 || gettid() != thr_tid)
			atomic_fetch_add(&bad_info, 1);
		atomic_fetch_add(&n_thr, 1);
	}
}

static void *burner(void *arg)
{
	(void)arg;
	for (;;) {
		double end = ck_now() + 0.01;
		volatile long x = 0;

		while (ck_now() < end)
			x++;
		ck_sleep_us(30000);
	}
	return NULL;
}

static void *target(void *arg)
{
	(void)arg;
	thr_tid = gettid();
	for (;;)
		pause();
	return NULL;
}

static timer_t make_timer(clockid_t clk, int notify, int sig, int val, long ival_ms,
			  long first_ms)
{
	struct sigevent ev = { 0 };
	struct itimerspec its = { { ival_ms / 1000, ival_ms % 1000 * 1000000 },
				  { first_ms / 1000, first_ms % 1000 * 1000000 } };
	timer_t t;

	ev.sigev_notify = notify;
	ev.sigev_signo = sig;
	ev.sigev_value.sival_int = val;
	if (notify == SIGEV_THREAD_ID)
		ev._sigev_un._tid = thr_tid;
	if (timer_create(clk, &ev, &t) < 0)
		ck_die("timer_create");
	if ((ival_ms || first_ms) && timer_settime(t, 0, &its, NULL) < 0)
		ck_die("timer_settime");
	return t;
}

static int64_t ns(struct timespec ts) { return ts.tv_sec * 1000000000ll + ts.tv_nsec; }

static void check_timer(timer_t t, const char *what, long ival_ms, int armed)
{
	struct itimerspec its;

	if (timer_gettime(t, &its) < 0) {
		ck_fail("%s: timer_gettime(id %d): %s (timer id not kept?)", what,
			(int)(intptr_t)t, strerror(errno));
		return;
	}
	CK(ns(its.it_interval) == ival_ms * 1000000ll, "%s: interval %lld ns, want %ld ms", what,
	   (long long)ns(its.it_interval), ival_ms);
	CK(armed ? ns(its.it_value) > 0 : ns(its.it_value) == 0, "%s: remaining %lld ns", what,
	   (long long)ns(its.it_value));
	CK(ival_ms == 0 || ns(its.it_value) <= ival_ms * 1000000ll, "%s: remaining %lld ns > interval",
	   what, (long long)ns(its.it_value));
}

/* slack_us: ITIMER_VIRTUAL's remaining time is measured against a process
 * CPU clock sampled at ticks, so it can read a tick above the interval, or
 * exactly 0 when the sample equals its expiry (it is about to fire; that it
 * keeps firing is checked below). */
static void check_itimer(int which, const char *what, long ival_us, long slack_us)
{
	struct itimerval v;
	int may_be_zero = which == ITIMER_VIRTUAL;

	getitimer(which, &v);
	CK(v.it_interval.tv_sec == 0 && v.it_interval.tv_usec == ival_us,
	   "%s: interval %ld.%06ld s, want %ld us", what, (long)v.it_interval.tv_sec,
	   (long)v.it_interval.tv_usec, ival_us);
	CK(v.it_value.tv_sec == 0 && v.it_value.tv_usec <= ival_us + slack_us &&
	   (v.it_value.tv_usec > 0 || may_be_zero), "%s: remaining %ld.%06ld s", what,
	   (long)v.it_value.tv_sec, (long)v.it_value.tv_usec);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { 0 };
	struct itimerval real = { { 0, 20000 }, { 0, 20000 } }, virt = { { 0, 10000 }, { 0, 10000 } };
	pthread_t t;

	ck_init(argc, argv);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGVTALRM, &sa, NULL);
	sa.sa_sigaction = on_timer;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIG_MONO, &sa, NULL);
	sigaction(SIG_THR, &sa, NULL);
	/* Only the target thread takes SIG_THR; nobody else blocks anything. */
	if (pthread_create(&t, NULL, target, NULL) || pthread_create(&t, NULL, burner, NULL))
		ck_die("pthread_create");
	while (!__atomic_load_n(&thr_tid, __ATOMIC_SEQ_CST))
		ck_sleep_us(500);
	setitimer(ITIMER_REAL, &real, NULL);
	setitimer(ITIMER_VIRTUAL, &virt, NULL);
	t_off = make_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR2, 3333, 0, 0);
	t_mono = make_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIG_MONO, 1111, 15, 15);
	t_thr = make_timer(CLOCK_REALTIME, SIGEV_THREAD_ID, SIG_THR, 2222, 25, 25);
	t_none = make_timer(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, 0, 1000000);
	ck_say("# timer ids %d %d %d %d", (int)(intptr_t)t_off, (int)(intptr_t)t_mono,
	       (int)(intptr_t)t_thr, (int)(intptr_t)t_none);
	ck_ready();
	for (int n = 0;; n++) {
		struct itimerspec its;
		int r0, v0, m0, t0;

		ck_wait_go(n);
		check_itimer(ITIMER_REAL, "ITIMER_REAL", 20000, 1000);
		check_itimer(ITIMER_VIRTUAL, "ITIMER_VIRTUAL", 10000, 20000);
		check_timer(t_off, "disarmed timer", 0, 0);
		check_timer(t_mono, "CLOCK_MONOTONIC timer", 15, 1);
		check_timer(t_thr, "SIGEV_THREAD_ID timer", 25, 1);
		check_timer(t_none, "one-shot SIGEV_NONE timer", 0, 1);
		if (timer_gettime(t_none, &its) == 0) {
			CK(ns(its.it_value) <= none_left, "one-shot timer: remaining grew to %lld ns",
			   (long long)ns(its.it_value));
			CK(ns(its.it_value) <= 1000000000000ll, "one-shot timer: remaining %lld ns",
			   (long long)ns(its.it_value));
			none_left = ns(its.it_value);
		}
		r0 = n_real, v0 = n_virt, m0 = n_mono, t0 = n_thr;
		ck_sleep_us(400000);
		CK(n_real - r0 >= 8, "ITIMER_REAL fired %d times in 400 ms (20 ms interval)", n_real - r0);
		CK(n_virt - v0 >= 1, "ITIMER_VIRTUAL fired %d times in 400 ms", n_virt - v0);
		CK(n_mono - m0 >= 10, "monotonic timer fired %d times in 400 ms (15 ms)", n_mono - m0);
		CK(n_thr - t0 >= 6, "thread timer fired %d times in 400 ms (25 ms)", n_thr - t0);
		CK(bad_info == 0, "%d timer signals with a wrong si_timerid/value/thread", bad_info);
		bad_info = 0;
		ck_report(n);
	}
}

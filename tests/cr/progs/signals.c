/*
 * signals.c - signal state survives checkpoint/restore.
 *
 * - Handlers: SIGUSR1 (SA_SIGINFO|SA_RESTART, mask SIGUSR2), SIGUSR2 (plain,
 *   SA_NODEFER), SIGRTMIN+4 (SA_ONSTACK); SIGHUP and SIGPIPE ignored; the
 *   crash handlers of check.h (SIGSEGV...).  Every sigaction is compared with
 *   what was set, and the raw actions of all 64 signals with a snapshot (no
 *   action lost, none added); SIGHUP and SIGPIPE are raised after the cycle
 *   (the process would die if they were not ignored).
 * - Pending while blocked, queued before the cycle: process-wide SIGRTMIN+2
 *   x3 with values, SIGUSR2 once; thread-directed SIGRTMIN+3 x2 to a worker.
 *   After the cycle sigpending must show them; unblocking delivers them in
 *   order with their si_value, si_code SI_QUEUE and sender pid.
 * - Per-thread masks: the worker blocks SIGRTMIN+3 and SIGWINCH only.
 * - sigaltstack: the worker's alternate stack is unchanged and a handler
 *   with SA_ONSTACK runs on it.
 * - SA_RESTART: a thread blocked in waitpid() since before the cycle gets
 *   SIGUSR1; waitpid must go on (no EINTR) and return the child's status.
 */
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "check.h"

#define RT_PROC (SIGRTMIN + 2)
#define RT_THR (SIGRTMIN + 3)
#define RT_ALT (SIGRTMIN + 4)

struct rec { int sig, val, code, pid; void *sp; };
static struct rec recs[64];
static atomic_int nrec;

static void record(int sig, siginfo_t *si, void *sp)
{
	int i = atomic_fetch_add(&nrec, 1);

	if (i < 64)
		recs[i] = (struct rec){ sig, si ? si->si_value.sival_int : -1,
					si ? si->si_code : 0, si ? si->si_pid : 0, sp };
}

static void on_info(int sig, siginfo_t *si, void *uc)
{
	int local;

	(void)uc;
	record(sig, si, &local);
}

static void on_plain(int sig)
{
	int local;

	record(sig, NULL, &local);
}

struct want { int sig; struct sigaction sa; };
static struct want wants[6];
static int nwant;

static void set_action(int sig, void (*h)(int), void (*sa)(int, siginfo_t *, void *),
		       int flags, int masked)
{
	struct sigaction act = { 0 };

	if (sa)
		act.sa_sigaction = sa;
	else
		act.sa_handler = h;
	act.sa_flags = flags;
	sigemptyset(&act.sa_mask);
	if (masked)
		sigaddset(&act.sa_mask, masked);
	if (sigaction(sig, &act, NULL) < 0)
		ck_die("sigaction %d", sig);
	sigaction(sig, NULL, &wants[nwant].sa);   /* as the kernel reports it */
	wants[nwant++].sig = sig;
}

static void check_actions(void)
{
	for (int i = 0; i < nwant; i++) {
		struct sigaction now;
		int sig = wants[i].sig;

		sigaction(sig, NULL, &now);
		CK(now.sa_handler == wants[i].sa.sa_handler, "signal %d: handler %p, want %p",
		   sig, (void *)now.sa_handler, (void *)wants[i].sa.sa_handler);
		CK(now.sa_flags == wants[i].sa.sa_flags, "signal %d: flags 0x%x, want 0x%x",
		   sig, now.sa_flags, wants[i].sa.sa_flags);
		CK(!memcmp(&now.sa_mask, &wants[i].sa.sa_mask, 8), "signal %d: sa_mask differs", sig);
		CK(now.sa_restorer == wants[i].sa.sa_restorer, "signal %d: restorer differs", sig);
	}
}

/* Every signal's action (1..64, glibc's internal ones too), raw. */
struct kact { uint64_t handler, flags, restorer, mask; };
static struct kact all_acts[65];

static void snapshot_all(struct kact *a)
{
	for (int sig = 1; sig <= 64; sig++)
		if (syscall(SYS_rt_sigaction, sig, NULL, &a[sig], 8) < 0)
			memset(&a[sig], 0xff, sizeof(a[sig]));
}

static void check_all_actions(void)
{
	struct kact now[65];

	snapshot_all(now);
	for (int sig = 1; sig <= 64; sig++) {
		/* SIG_DFL: flags and mask mean nothing, except SIGCHLD's flags. */
		if (!now[sig].handler && !all_acts[sig].handler &&
		    (sig != SIGCHLD || !((now[sig].flags ^ all_acts[sig].flags) &
					  (SA_NOCLDSTOP | SA_NOCLDWAIT))))
			continue;
		CK(!memcmp(&now[sig], &all_acts[sig], sizeof(now[sig])),
		   "signal %d: action handler %#llx flags %#llx mask %#llx, was %#llx %#llx %#llx",
		   sig, (unsigned long long)now[sig].handler, (unsigned long long)now[sig].flags,
		   (unsigned long long)now[sig].mask, (unsigned long long)all_acts[sig].handler,
		   (unsigned long long)all_acts[sig].flags, (unsigned long long)all_acts[sig].mask);
	}
}

/* Find the records of sig in order and compare with values v0, v0+1, ... */
static void expect(int sig, int count, int v0, int code, const char *what)
{
	int got = 0;

	for (int i = 0; i < atomic_load(&nrec) && i < 64; i++) {
		if (recs[i].sig != sig)
			continue;
		if (got < count) {
			CK(v0 < 0 || recs[i].val == v0 + got, "%s #%d: value %d, want %d", what, got,
			   recs[i].val, v0 + got);
			CK(code == 0 || recs[i].code == code, "%s: si_code %d", what, recs[i].code);
			CK(code == 0 || recs[i].pid == 1, "%s: si_pid %d, want 1", what, recs[i].pid);
		}
		got++;
	}
	CK(got == count, "%s: %d delivered, want %d", what, got, count);
}

static pthread_t worker;
static pid_t worker_tid;
static atomic_int worker_gen = -1, worker_ack;
static char *alt;
#define ALT_SIZE (64 * 1024)

static void queue_pending(int n)
{
	union sigval v;

	for (int i = 0; i < 3; i++) {
		v.sival_int = n * 100 + i;
		if (sigqueue(getpid(), RT_PROC, v) < 0)
			ck_die("sigqueue");
	}
	kill(getpid(), SIGUSR2);
	for (int i = 0; i < 2; i++) {
		v.sival_int = n * 100 + 50 + i;
		if (pthread_sigqueue(worker, RT_THR, v))
			ck_die("pthread_sigqueue");
	}
}

static void sigset_of(sigset_t *s, int a, int b, int c)
{
	sigemptyset(s);
	sigaddset(s, a);
	if (b)
		sigaddset(s, b);
	if (c)
		sigaddset(s, c);
}

static void worker_check(void)
{
	sigset_t m, want, pend;
	stack_t ss;

	pthread_sigmask(SIG_SETMASK, NULL, &m);
	sigset_of(&want, RT_PROC, SIGUSR2, 0);
	sigaddset(&want, RT_THR);
	sigaddset(&want, SIGWINCH);
	CK(!memcmp(&m, &want, 8), "worker mask 0x%llx, want 0x%llx",
	   *(unsigned long long *)&m, *(unsigned long long *)&want);
	sigpending(&pend);
	CK(sigismember(&pend, RT_THR), "worker: RT_THR not pending");
	CK(sigaltstack(NULL, &ss) == 0 && ss.ss_sp == alt && ss.ss_size == ALT_SIZE &&
	   ss.ss_flags == 0, "worker altstack %p+%zu flags %d, want %p+%d",
	   ss.ss_sp, ss.ss_size, ss.ss_flags, (void *)alt, ALT_SIZE);
	/* Deliver the thread's pending signals. */
	sigset_of(&m, RT_THR, 0, 0);
	pthread_sigmask(SIG_UNBLOCK, &m, NULL);
	pthread_sigmask(SIG_BLOCK, &m, NULL);
	/* The alternate stack in use. */
	syscall(SYS_tgkill, getpid(), gettid(), RT_ALT);
}

static void *worker_main(void *arg)
{
	sigset_t m;
	stack_t ss = { 0 };
	int seen = -1;

	(void)arg;
	worker_tid = gettid();
	sigset_of(&m, RT_THR, SIGWINCH, 0);
	pthread_sigmask(SIG_BLOCK, &m, NULL);
	alt = malloc(ALT_SIZE);
	ss.ss_sp = alt;
	ss.ss_size = ALT_SIZE;
	if (!alt || sigaltstack(&ss, NULL) < 0)
		ck_die("sigaltstack");
	for (;;) {
		while (atomic_load(&worker_gen) == seen)
			ck_sleep_us(1000);
		seen = atomic_load(&worker_gen);
		worker_check();
		atomic_store(&worker_ack, 1);
	}
	return NULL;
}

/* SA_RESTART: a thread in waitpid() on a child that exits after the cycle. */
static pthread_t waiter;
static pid_t wkid;
static atomic_int wgen = -1;
static int wresult;  /* status, or -errno */

static void *waiter_main(void *arg)
{
	int st = 0;
	pid_t r;

	(void)arg;
	r = waitpid(wkid, &st, 0);
	wresult = r == wkid ? st : -errno;
	return NULL;
}

static void make_waiter(int n)
{
	wkid = fork();
	if (wkid < 0)
		ck_die("fork");
	if (wkid == 0) {
		ck_wait_go(n);
		ck_sleep_us(100000);
		_exit(n & 0x7f);
	}
	if (pthread_create(&waiter, NULL, waiter_main, NULL))
		ck_die("pthread_create");
	atomic_store(&wgen, n);
}

int main(int argc, char **argv)
{
	sigset_t m, pend;

	ck_init(argc, argv);
	set_action(SIGUSR1, NULL, on_info, SA_SIGINFO | SA_RESTART, SIGUSR2);
	set_action(SIGUSR2, on_plain, NULL, SA_NODEFER, 0);
	set_action(RT_PROC, NULL, on_info, SA_SIGINFO, 0);
	set_action(RT_THR, NULL, on_info, SA_SIGINFO | SA_RESTART, 0);
	set_action(RT_ALT, NULL, on_info, SA_SIGINFO | SA_ONSTACK, 0);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigset_of(&m, RT_PROC, SIGUSR2, 0);
	sigprocmask(SIG_BLOCK, &m, NULL);   /* inherited by every thread */
	if (pthread_create(&worker, NULL, worker_main, NULL))
		ck_die("pthread_create");
	while (!__atomic_load_n(&worker_tid, __ATOMIC_SEQ_CST))
		ck_sleep_us(500);
	ck_sleep_us(10000);
	make_waiter(0);
	queue_pending(0);
	snapshot_all(all_acts);
	ck_ready();
	for (int n = 0;; n++) {
		double end;
		int e;

		ck_wait_go(n);
		atomic_store(&nrec, 0);
		check_actions();
		check_all_actions();
		CK(signal(SIGHUP, SIG_IGN) == SIG_IGN, "SIGHUP no longer ignored");
		CK(signal(SIGPIPE, SIG_IGN) == SIG_IGN, "SIGPIPE no longer ignored");
		raise(SIGHUP);
		raise(SIGPIPE);
		sigpending(&pend);
		CK(sigismember(&pend, RT_PROC) && sigismember(&pend, SIGUSR2),
		   "process-wide signals not pending after the cycle");
		/* SA_RESTART: interrupt the waiter; waitpid must carry on. */
		pthread_kill(waiter, SIGUSR1);
		/* Worker: its pending signals, its altstack. */
		atomic_store(&worker_ack, 0);
		atomic_store(&worker_gen, n);
		end = ck_now() + 5;
		while (!atomic_load(&worker_ack) && ck_now() < end)
			ck_sleep_us(1000);
		CK(atomic_load(&worker_ack), "worker did not check in");
		/* Process-wide ones go to the main thread once it unblocks. */
		sigprocmask(SIG_UNBLOCK, &m, NULL);
		sigprocmask(SIG_BLOCK, &m, NULL);
		e = pthread_join(waiter, NULL);
		CK(e == 0 && wresult >= 0 && WIFEXITED(wresult) && WEXITSTATUS(wresult) == (n & 0x7f),
		   "waitpid under SA_RESTART: result %d (%s)", wresult,
		   wresult < 0 ? strerror(-wresult) : "status");
		expect(RT_PROC, 3, n * 100, SI_QUEUE, "process-wide SIGRTMIN+2");
		expect(RT_THR, 2, n * 100 + 50, SI_QUEUE, "thread-directed SIGRTMIN+3");
		expect(SIGUSR2, 1, -1, 0, "pending SIGUSR2");
		expect(SIGUSR1, 1, -1, 0, "SIGUSR1 to the waiter");
		expect(RT_ALT, 1, -1, 0, "SIGRTMIN+4 on the altstack");
		for (int i = 0; i < atomic_load(&nrec) && i < 64; i++)
			if (recs[i].sig == RT_ALT)
				CK((char *)recs[i].sp >= alt && (char *)recs[i].sp < alt + ALT_SIZE,
				   "SA_ONSTACK handler ran at %p, not on the altstack %p", recs[i].sp,
				   (void *)alt);
		make_waiter(n + 1);
		queue_pending(n + 1);
		ck_report(n);
	}
}

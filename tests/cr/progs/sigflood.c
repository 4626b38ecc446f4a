/*
 * sigflood.c - queued real-time signals in flight across the dump are
 * delivered exactly once after the restore.
 *
 * A sender thread sigqueue()s SIGRTMIN+3 to the process without pause,
 * each with the next sequence number as its value (waiting a little when
 * the queue is full).  Three worker threads take them in a handler that
 * marks the number in a bitmap (a number seen twice is a failure); the
 * main thread and the sender block the signal.  The dump catches signals
 * queued and handlers running.  Check N stops the sender, waits until as
 * many signals arrived as were sent, and requires every number below that
 * to be marked; then the sender goes on.
 */
#include <signal.h>
#include <sys/syscall.h>

#include "check.h"

#define SIG (SIGRTMIN + 3)
#define MAXSEQ (1u << 24)
#define WORKERS 3

static uint8_t seen[MAXSEQ / 8];
static atomic_uint sent, received, dups, bad_value;
static atomic_int pause_sender = 1, sender_paused;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	unsigned v = (unsigned)si->si_value.sival_int;
	uint8_t bit;

	(void)sig;
	(void)uc;
	if (si->si_code != SI_QUEUE || v >= MAXSEQ) {
		atomic_fetch_add(&bad_value, 1);
		return;
	}
	bit = (uint8_t)(1u << (v % 8));
	if (__atomic_fetch_or(&seen[v / 8], bit, __ATOMIC_SEQ_CST) & bit)
		atomic_fetch_add(&dups, 1);
	atomic_fetch_add(&received, 1);
}

static void block_sig(void)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIG);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
}

static void *sender(void *arg)
{
	union sigval v;

	(void)arg;
	block_sig();
	for (;;) {
		if (atomic_load(&pause_sender)) {
			atomic_store(&sender_paused, 1);
			ck_sleep_us(1000);
			continue;
		}
		atomic_store(&sender_paused, 0);
		if (atomic_load(&sent) >= MAXSEQ - 1) {
			ck_sleep_us(1000);
			continue;
		}
		v.sival_int = (int)atomic_load(&sent);
		if (sigqueue(getpid(), SIG, v) == 0)
			atomic_fetch_add(&sent, 1);
		else if (errno == EAGAIN)
			ck_sleep_us(100);
	}
	return NULL;
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void check_all_arrived(void)
{
	double end;
	unsigned n;

	atomic_store(&pause_sender, 1);
	while (!atomic_load(&sender_paused))
		ck_sleep_us(500);
	n = atomic_load(&sent);
	end = ck_now() + 5;
	while (atomic_load(&received) < n && ck_now() < end)
		ck_sleep_us(1000);
	CK(atomic_load(&received) == n, "%u signals sent, %u arrived", n, atomic_load(&received));
	for (unsigned v = 0; v < n; v++)
		if (!(seen[v / 8] & (1u << (v % 8)))) {
			ck_fail("signal number %u never arrived (of %u)", v, n);
			break;
		}
	CK(atomic_load(&dups) == 0, "%u signals arrived twice", atomic_load(&dups));
	CK(atomic_load(&bad_value) == 0, "%u signals with a wrong code or value",
	   atomic_load(&bad_value));
}

int main(int argc, char **argv)
{
	struct sigaction sa = { 0 };
	pthread_t t;

	ck_init(argc, argv);
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIG, &sa, NULL) < 0)
		ck_die("sigaction");
	block_sig();   /* main: inherited by the sender; workers unblock */
	for (int i = 0; i < WORKERS; i++) {
		sigset_t s;

		sigemptyset(&s);
		sigaddset(&s, SIG);
		pthread_sigmask(SIG_UNBLOCK, &s, NULL);
		if (pthread_create(&t, NULL, worker, NULL))
			ck_die("pthread_create");
		pthread_sigmask(SIG_BLOCK, &s, NULL);
	}
	if (pthread_create(&t, NULL, sender, NULL))
		ck_die("pthread_create");
	ck_ready();
	atomic_store(&pause_sender, 0);
	for (int n = 0;; n++) {
		unsigned before;

		ck_wait_go(n);
		check_all_arrived();
		before = atomic_load(&sent);
		atomic_store(&pause_sender, 0);
		ck_sleep_us(100000);
		CK(atomic_load(&sent) > before + 100, "the sender sent only %u more in 100 ms",
		   atomic_load(&sent) - before);
		ck_report(n);
	}
}

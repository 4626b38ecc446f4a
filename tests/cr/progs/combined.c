/*
 * combined.c - everything at once through many cycles.
 *
 * 8 threads each advance a double accumulator (checked bit for bit against a
 * recomputation from the last verified point); a child process shares a
 * MAP_SHARED region with the parent (it writes a cycle-dependent pattern
 * after each cycle, the parent verifies it); ITIMER_REAL (10 ms) and a POSIX
 * timer (20 ms) keep firing; a thread queues SIGRTMIN+5 to the process every
 * 5 ms with a sequence number, the handler checks the sequence is gapless
 * and in order; MB megabytes (argv[2], default 200) of random data are
 * checksummed at every check, with a few pages changed before each cycle.
 */
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "check.h"

#define NFP 8
#define PG 4096
#define SIG_SEQ (SIGRTMIN + 5)

struct acc { long i, i_ok; double d, d_ok; };
static struct acc accs[NFP];
static atomic_int gen = -1, acks;
static atomic_int n_alarm, n_timer, seq_bad, seq_got;
static atomic_int seq_next;
static uint8_t *mem, *shared;
static size_t mem_len;
static uint64_t mem_sum;

static void *fp_main(void *arg)
{
	struct acc *a = arg;
	int seen = -1;

	for (;;) {
		for (long end = a->i + 1500; a->i < end; a->i++)
			a->d = ck_fp_step(a->d, a->i);
		ck_sleep_us(2000);
		if (atomic_load(&gen) == seen)
			continue;
		seen = atomic_load(&gen);
		double r = a->d_ok;

		for (long i = a->i_ok; i < a->i; i++)
			r = ck_fp_step(r, i);
		CK(memcmp(&r, &a->d, sizeof(r)) == 0, "fp thread %ld: %.17g, recomputed %.17g",
		   (long)(a - accs), a->d, r);
		a->i_ok = a->i;
		a->d_ok = a->d;
		atomic_fetch_add(&acks, 1);
	}
	return NULL;
}

static void on_alarm(int sig) { (void)sig; atomic_fetch_add(&n_alarm, 1); }
static void on_timer(int sig) { (void)sig; atomic_fetch_add(&n_timer, 1); }

static void on_seq(int sig, siginfo_t *si, void *uc)
{
	static int expect;

	(void)sig;
	(void)uc;
	if (si->si_value.sival_int != expect)
		atomic_fetch_add(&seq_bad, 1);
	expect = si->si_value.sival_int + 1;
	atomic_fetch_add(&seq_got, 1);
}

static void *sender(void *arg)
{
	(void)arg;
	for (;;) {
		union sigval v = { .sival_int = atomic_fetch_add(&seq_next, 1) };

		while (sigqueue(getpid(), SIG_SEQ, v) < 0 && errno == EAGAIN)
			ck_sleep_us(1000);
		ck_sleep_us(5000);
	}
	return NULL;
}

static void __attribute__((noreturn)) kid_main(void)
{
	for (int n = 0;; n++) {
		ck_wait_go(n);
		CK(shared[0] == (uint8_t)(n + 1), "child: parent's byte %d, want %d", shared[0], n + 1);
		memset(shared + PG, (uint8_t)(n * 5 + 3), 64 * PG);
		ck_child_report("kid", n);
	}
}

static void install(void)
{
	struct sigaction sa = { 0 };
	struct itimerval it = { { 0, 10000 }, { 0, 10000 } };
	struct sigevent ev = { 0 };
	struct itimerspec its = { { 0, 20000000 }, { 0, 20000000 } };
	timer_t t;

	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = on_timer;
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_sigaction = on_seq;
	sa.sa_flags = SA_RESTART | SA_SIGINFO;
	sigaction(SIG_SEQ, &sa, NULL);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR2;
	if (timer_create(CLOCK_MONOTONIC, &ev, &t) < 0 || timer_settime(t, 0, &its, NULL) < 0)
		ck_die("timer");
	setitimer(ITIMER_REAL, &it, NULL);
}

int main(int argc, char **argv)
{
	pthread_t t;
	sigset_t seq_only;
	pid_t kid;

	ck_init(argc, argv);
	mem_len = (size_t)(argc > 2 ? atoi(argv[2]) : 200) << 20;
	mem = mmap(NULL, mem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	shared = mmap(NULL, 65 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || shared == MAP_FAILED)
		ck_die("mmap");
	ck_fill(mem, mem_len, 2016);
	mem_sum = ck_hash(mem, mem_len);
	shared[0] = 1;
	kid = fork();
	if (kid < 0)
		ck_die("fork");
	if (kid == 0)
		kid_main();
	install();
	/* Only the main thread takes SIG_SEQ: two threads running on_seq at
	 * once would see the values out of order without anything lost. */
	sigemptyset(&seq_only);
	sigaddset(&seq_only, SIG_SEQ);
	pthread_sigmask(SIG_BLOCK, &seq_only, NULL);
	for (int i = 0; i < NFP; i++)
		if (pthread_create(&t, NULL, fp_main, &accs[i]))
			ck_die("pthread_create");
	if (pthread_create(&t, NULL, sender, NULL))
		ck_die("pthread_create");
	pthread_sigmask(SIG_UNBLOCK, &seq_only, NULL);
	ck_ready();
	for (int n = 0;; n++) {
		int a0, t0, s0;

		ck_wait_go(n);
		atomic_store(&acks, 0);
		atomic_store(&gen, n);
		CK(ck_hash(mem, mem_len) == mem_sum, "%zu MB region: checksum differs", mem_len >> 20);
		a0 = n_alarm, t0 = n_timer, s0 = seq_got;
		ck_collect("kid", n, 5);
		for (int i = PG; i < 65 * PG; i++)
			if (shared[i] != (uint8_t)(n * 5 + 3)) {
				ck_fail("shared memory: child's write not seen at %d", i);
				break;
			}
		ck_wait_acks(&acks, NFP, "fp threads");
		ck_sleep_us(200000);
		CK(n_alarm - a0 >= 5, "ITIMER_REAL fired %d times in 200+ ms", n_alarm - a0);
		CK(n_timer - t0 >= 3, "POSIX timer fired %d times in 200+ ms", n_timer - t0);
		CK(seq_got - s0 >= 5, "%d queued signals arrived in 200+ ms", seq_got - s0);
		CK(seq_bad == 0, "%d queued signals out of order or lost", seq_bad);
		/* Re-arm: new data in a few pages, the child's expected byte. */
		for (int i = 0; i < 8; i++)
			ck_fill(mem + ((size_t)(n * 7919 + i * 104729) % (mem_len / PG)) * PG, PG,
				(uint64_t)(n * 8 + i + 1));
		mem_sum = ck_hash(mem, mem_len);
		shared[0] = (uint8_t)(n + 2);
		ck_report(n);
	}
}

/*
 * threads.c - threads survive checkpoint/restore with their identity.
 *
 * Six workers wait in three different ways (condition variable, nanosleep
 * polling, a user-mode spin).  After each cycle every worker checks that
 * gettid() and pthread_self() are unchanged, that its __thread variable and a
 * checksummed buffer on its own stack are intact; the main thread checks
 * /proc/self/task lists exactly the known tids.  An "exiter" thread created
 * before the cycle is told to exit after it and must be joinable (the kernel
 * clears its clear_child_tid futex only if the restore set it): a join that
 * times out fails the check.  A new exiter is made for the next cycle.
 */
#include <dirent.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#include "check.h"

#define NW 6

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int gen = -1;          /* check number in progress */
static int done;              /* workers done with gen */
static atomic_int agen = -1;  /* the same, for the spinner and sleepers */
static __thread uint64_t tls_magic;

struct worker {
	pthread_t self;
	pid_t tid;
	int kind;             /* 0 cond wait, 1 sleep poll, 2 spin */
	int idx;
};
static struct worker w[NW];

static void worker_check(struct worker *me, int n, const uint64_t *stackbuf, uint64_t sum)
{
	pid_t t = gettid();

	CK(t == me->tid, "worker %d: gettid %d, was %d", me->idx, t, me->tid);
	CK((pid_t)syscall(SYS_gettid) == me->tid, "worker %d: SYS_gettid differs", me->idx);
	CK(pthread_equal(pthread_self(), me->self), "worker %d: pthread_self changed", me->idx);
	CK(tls_magic == (0xabcdef00ull ^ (uint64_t)me->tid),
	   "worker %d: __thread value 0x%llx", me->idx, (unsigned long long)tls_magic);
	CK(ck_hash(stackbuf, 512 * 8) == sum, "worker %d: stack buffer changed", me->idx);
	(void)n;
}

static void *worker_main(void *arg)
{
	struct worker *me = arg;
	uint64_t stackbuf[512];
	uint64_t sum;
	int seen = -1;

	tls_magic = 0xabcdef00ull ^ (uint64_t)me->tid;
	ck_fill(stackbuf, sizeof(stackbuf), 77 + (uint64_t)me->idx);
	sum = ck_hash(stackbuf, sizeof(stackbuf));
	for (;;) {
		if (me->kind == 0) {
			pthread_mutex_lock(&mu);
			while (gen == seen)
				pthread_cond_wait(&cv, &mu);
			seen = gen;
			pthread_mutex_unlock(&mu);
		} else {
			volatile uint64_t spins = 0;

			while (atomic_load(&agen) == seen) {
				if (me->kind == 1)
					ck_sleep_us(1000);
				else if (++spins % 4096 == 0)
					sched_yield();
			}
			seen = atomic_load(&agen);
		}
		worker_check(me, seen, stackbuf, sum);
		pthread_mutex_lock(&mu);
		done++;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

/* The exiter: waits for its go, then returns a value. */
static pthread_t exiter;
static pid_t exiter_tid;
static atomic_int exiter_go;

static void *exiter_main(void *arg)
{
	exiter_tid = gettid();
	while (!atomic_load(&exiter_go))
		ck_sleep_us(1000);
	return (void *)((uintptr_t)arg + 0x1000);
}

static void make_exiter(int n)
{
	atomic_store(&exiter_go, 0);
	exiter_tid = 0;
	if (pthread_create(&exiter, NULL, exiter_main, (void *)(uintptr_t)n))
		ck_die("pthread_create exiter");
	while (!__atomic_load_n(&exiter_tid, __ATOMIC_SEQ_CST))
		ck_sleep_us(500);
}

static void check_join(int n)
{
	struct timespec ts;
	void *ret = NULL;
	int e;

	atomic_store(&exiter_go, 1);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	e = pthread_timedjoin_np(exiter, &ret, &ts);
	CK(e == 0, "join of exiter tid %d: %s (clear_child_tid not restored?)",
	   exiter_tid, strerror(e));
	CK(e || ret == (void *)((uintptr_t)n + 0x1000), "exiter returned %p", ret);
}

static void check_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int count = 0;

	if (!d) {
		ck_fail("opendir /proc/self/task: %s", strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		pid_t t = atoi(de->d_name);
		int known = t == getpid() || t == exiter_tid;

		if (t <= 0)
			continue;
		for (int i = 0; i < NW; i++)
			known |= t == w[i].tid;
		CK(known, "unknown task %d in /proc/self/task", t);
		count++;
	}
	closedir(d);
	CK(count == NW + 2, "%d tasks, want %d", count, NW + 2);
}

static void *tid_start(void *arg)
{
	struct worker *me = arg;

	me->tid = gettid();
	me->self = pthread_self();
	return worker_main(me);
}

int main(int argc, char **argv)
{
	ck_init(argc, argv);
	for (int i = 0; i < NW; i++) {
		pthread_t t;

		w[i].idx = i;
		w[i].kind = i % 3;
		if (pthread_create(&t, NULL, tid_start, &w[i]))
			ck_die("pthread_create");
	}
	for (int i = 0; i < NW; i++)
		while (!__atomic_load_n(&w[i].tid, __ATOMIC_SEQ_CST))
			ck_sleep_us(500);
	make_exiter(0);
	ck_ready();
	for (int n = 0;; n++) {
		struct timespec ts;

		ck_wait_go(n);
		check_tasks();
		pthread_mutex_lock(&mu);
		done = 0;
		gen = n;
		atomic_store(&agen, n);
		pthread_cond_broadcast(&cv);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 5;
		while (done < NW)
			if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT) {
				ck_fail("only %d of %d workers checked in", done, NW);
				break;
			}
		pthread_mutex_unlock(&mu);
		check_join(n);
		make_exiter(n + 1);
		ck_report(n);
	}
}

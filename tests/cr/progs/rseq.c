/*
 * rseq.c - glibc's rseq registration survives checkpoint/restore.
 *
 * The main thread and two workers find their rseq area (thread pointer +
 * __rseq_offset).  Before each cycle each of them writes a bogus cpu_id into
 * its area and then blocks in sem_wait, so the image holds the bogus value:
 * only a kernel that has the area registered overwrites it when the thread
 * returns to user space.  After the cycle each thread checks that cpu_id is
 * a real cpu (and matches sched_getcpu), that re-registering the same area
 * with glibc's length and signature gives EBUSY (registered, same area,
 * same signature; 0 would mean it was not registered), and that the kernel
 * keeps updating the area (bogus again, sleep, valid again).
 */
#include <linux/rseq.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/rseq.h>
#include <sys/syscall.h>

#include "check.h"

#define BOGUS 0x7eadbeefu
#define NT 3

static sem_t go[NT];
static atomic_int acks;
static long ncpu;

static struct rseq *area(void)
{
	return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

static void poison(void)
{
	volatile struct rseq *r = area();

	r->cpu_id = BOGUS;
	r->cpu_id_start = BOGUS;
}

static void check_self(int who)
{
	volatile struct rseq *r = area();
	unsigned cpu = r->cpu_id, start = r->cpu_id_start;
	long ret;
	int e, tries;

	CK(cpu != BOGUS, "thread %d: cpu_id still bogus after restore (rseq not registered)", who);
	CK(cpu < (unsigned)ncpu, "thread %d: cpu_id %u (%ld cpus)", who, cpu, ncpu);
	CK(start < (unsigned)ncpu, "thread %d: cpu_id_start %u", who, start);
	/* Compare with sched_getcpu; a migration in between is possible: retry. */
	for (tries = 0; tries < 100; tries++)
		if ((unsigned)sched_getcpu() == r->cpu_id)
			break;
	CK(tries < 100, "thread %d: cpu_id %u never matches sched_getcpu %d", who,
	   r->cpu_id, sched_getcpu());
	ret = syscall(SYS_rseq, area(), 32, 0, RSEQ_SIG);
	e = errno;
	CK(ret < 0 && e == EBUSY, "thread %d: re-registering rseq gives %ld (%s), want EBUSY%s",
	   who, ret, ret < 0 ? strerror(e) : "success",
	   ret == 0 ? ": it was not registered" : e == EPERM ? ": wrong signature" :
	   e == EINVAL ? ": other area or length" : "");
	/* Still maintained by the kernel. */
	poison();
	ck_sleep_us(2000);
	CK(r->cpu_id != BOGUS, "thread %d: kernel does not update cpu_id any more", who);
}

/* Check, re-poison, block until the next check. */
static void serve(int who)
{
	for (int n = 0;; n++) {
		poison();
		while (sem_wait(&go[who]) < 0)
			;
		check_self(who);
		atomic_fetch_add(&acks, 1);
	}
}

static void *worker(void *arg)
{
	serve((int)(intptr_t)arg);
	return NULL;
}

static void *poller(void *arg)
{
	(void)arg;
	for (int n = 0;; n++) {
		ck_wait_go(n);
		atomic_store(&acks, 0);
		for (int i = 0; i < NT; i++)
			sem_post(&go[i]);
		ck_wait_acks(&acks, NT, "threads");
		ck_sleep_us(20000);   /* all are blocked with bogus values again */
		ck_report(n);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	ck_init(argc, argv);
	ncpu = sysconf(_SC_NPROCESSORS_CONF);
	if (__rseq_size == 0)
		ck_die("glibc did not register rseq (__rseq_size 0)");
	for (int i = 0; i < NT; i++)
		sem_init(&go[i], 0, 0);
	for (int i = 1; i < NT; i++)
		if (pthread_create(&t, NULL, worker, (void *)(intptr_t)i))
			ck_die("pthread_create");
	if (pthread_create(&t, NULL, poller, NULL))
		ck_die("pthread_create");
	ck_sleep_us(20000);
	ck_ready();
	serve(0);
}

/*
 * robust.c - robust futex lists survive checkpoint/restore.
 *
 * The main thread and an owner thread check that get_robust_list(0) gives
 * the same head (glibc's per-thread list) as before the cycle.  The owner
 * locks a robust mutex before the cycle and exits after it without
 * unlocking: the kernel walks its robust list at exit, so the main thread's
 * lock must return EOWNERDEAD (a timeout means the list was lost, or the
 * owner's tid changed).  The same with a process-shared robust mutex in
 * MAP_SHARED memory, owned by a child process that exits after the cycle.
 * Both are re-armed (a new owner) for the next cycle.
 */
#include <linux/futex.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "check.h"

static pthread_mutex_t tmu;
static struct shared { pthread_mutex_t mu; volatile int locked, go; } *sh;
static sem_t owner_go, owner_locked;
static pthread_t owner;
static void *owner_head;
static pid_t kid;

static void *robust_head(void)
{
	struct robust_list_head *h = NULL;
	size_t len = 0;

	if (syscall(SYS_get_robust_list, 0, &h, &len) < 0)
		return (void *)-1;
	if (len != sizeof(struct robust_list_head))
		return (void *)-2;
	return h;
}

static void *owner_main(void *arg)
{
	void *head = robust_head();

	(void)arg;
	if (pthread_mutex_lock(&tmu))
		ck_die("owner lock");
	owner_head = head;
	sem_post(&owner_locked);
	while (sem_wait(&owner_go) < 0)
		;
	CK(robust_head() == head, "owner thread: robust head %p, was %p", robust_head(), head);
	return NULL;           /* dies holding tmu */
}

static void make_owner(void)
{
	if (pthread_create(&owner, NULL, owner_main, NULL))
		ck_die("pthread_create");
	while (sem_wait(&owner_locked) < 0)
		;
}

static void make_kid(void)
{
	sh->locked = 0;
	sh->go = 0;
	kid = fork();
	if (kid < 0)
		ck_die("fork");
	if (kid == 0) {
		void *head = robust_head();

		if (pthread_mutex_lock(&sh->mu))
			_exit(3);
		sh->locked = 1;
		while (!sh->go)
			ck_sleep_us(1000);
		_exit(robust_head() == head ? 0 : 4);
	}
	while (!sh->locked)
		ck_sleep_us(500);
}

static void lock_dead(pthread_mutex_t *mu, const char *what)
{
	struct timespec ts;
	int e;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 3;
	e = pthread_mutex_timedlock(mu, &ts);
	CK(e == EOWNERDEAD, "%s: lock after the owner died gives %s, want EOWNERDEAD",
	   what, strerror(e));
	if (e == EOWNERDEAD)
		pthread_mutex_consistent(mu);
	if (e == EOWNERDEAD || e == 0)
		pthread_mutex_unlock(mu);
}

static void init_mutex(pthread_mutex_t *mu, int pshared)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutexattr_setpshared(&a, pshared);
	if (pthread_mutex_init(mu, &a))
		ck_die("mutex init");
}

int main(int argc, char **argv)
{
	void *head;

	ck_init(argc, argv);
	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		ck_die("mmap");
	init_mutex(&tmu, PTHREAD_PROCESS_PRIVATE);
	init_mutex(&sh->mu, PTHREAD_PROCESS_SHARED);
	sem_init(&owner_go, 0, 0);
	sem_init(&owner_locked, 0, 0);
	head = robust_head();
	if (head == (void *)-1 || head == NULL)
		ck_die("get_robust_list");
	make_owner();
	make_kid();
	ck_ready();
	for (int n = 0;; n++) {
		struct timespec ts;
		int st = 0, e;
		pid_t r;

		ck_wait_go(n);
		CK(robust_head() == head, "main: robust head %p, was %p", robust_head(), head);
		CK(owner_head != NULL, "owner did not record its head");
		sem_post(&owner_go);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 3;
		e = pthread_timedjoin_np(owner, NULL, &ts);
		CK(e == 0, "join owner thread: %s", strerror(e));
		lock_dead(&tmu, "thread-owned robust mutex");
		sh->go = 1;
		r = waitpid(kid, &st, 0);
		CK(r == kid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		   "owner child: waitpid %d status 0x%x (4: its robust head changed)", r, st);
		lock_dead(&sh->mu, "process-shared robust mutex owned by a child");
		make_owner();
		make_kid();
		ck_report(n);
	}
}

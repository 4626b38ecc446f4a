/*
 * pool.c - a tiny parallel-for: run fn(arg, i) for every i in [0, n) on a
 * few threads.  The first failure stops handing out new indexes; its error
 * message is carried back to the caller's thread.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "store/internal.h"

#define POOL_MAX 16

struct pool {
	size_t n;
	pool_fn fn;
	void *arg;
	atomic_size_t next;
	atomic_int failed;
	pthread_mutex_t lock;
	char msg[1024];
};

static void *pool_worker(void *p)
{
	struct pool *pl = p;
	size_t i;

	while (!atomic_load(&pl->failed) &&
	       (i = atomic_fetch_add(&pl->next, 1)) < pl->n) {
		if (pl->fn(pl->arg, i) < 0) {
			pthread_mutex_lock(&pl->lock);
			if (!atomic_exchange(&pl->failed, 1))
				snprintf(pl->msg, sizeof(pl->msg), "%s", err_msg());
			pthread_mutex_unlock(&pl->lock);
		}
	}
	return NULL;
}

unsigned pool_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 2)
		n = 2;
	return n > 8 ? 8 : (unsigned)n * 2;
}

int pool_run(size_t n, unsigned nthreads, pool_fn fn, void *arg)
{
	struct pool pl = { .n = n, .fn = fn, .arg = arg };
	pthread_t tids[POOL_MAX];
	unsigned started = 0;

	if (nthreads > POOL_MAX)
		nthreads = POOL_MAX;
	if (nthreads > n)
		nthreads = (unsigned)n;
	pthread_mutex_init(&pl.lock, NULL);
	for (; started + 1 < nthreads; started++)
		if (pthread_create(&tids[started], NULL, pool_worker, &pl) != 0)
			break;
	pool_worker(&pl);             /* the caller works too */
	for (unsigned t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	pthread_mutex_destroy(&pl.lock);
	if (atomic_load(&pl.failed))
		return err_set("%s", pl.msg);
	return 0;
}

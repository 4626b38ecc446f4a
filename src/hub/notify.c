/* notify.c - a hub's news for waiting workers (see notify.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hub/notify.h"

void notify_init(struct hub_notify *n)
{
	pthread_condattr_t a;

	memset(n, 0, sizeof(*n));
	pthread_mutex_init(&n->lock, NULL);
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&n->cond, &a);
	pthread_condattr_destroy(&a);
	n->version = 1;
}

void notify_free(struct hub_notify *n)
{
	pthread_cond_destroy(&n->cond);
	pthread_mutex_destroy(&n->lock);
}

void notify_change(struct hub_notify *n)
{
	pthread_mutex_lock(&n->lock);
	n->version++;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->lock);
}

void notify_wake(struct hub_notify *n, const char *app, int64_t now_ms)
{
	pthread_mutex_lock(&n->lock);
	snprintf(n->wakes[n->next].app, sizeof(n->wakes[0].app), "%s", app);
	n->wakes[n->next].at_ms = now_ms;
	n->next = (n->next + 1) % NOTIFY_WAKES;
	n->version++;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->lock);
}

uint64_t notify_wait(struct hub_notify *n, uint64_t seen, int64_t wait_ms)
{
	struct timespec end;
	uint64_t v;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += wait_ms / 1000;
	end.tv_nsec += (wait_ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&n->lock);
	while (n->version == seen &&
	       pthread_cond_timedwait(&n->cond, &n->lock, &end) != ETIMEDOUT)
		;
	v = n->version;
	pthread_mutex_unlock(&n->lock);
	return v;
}

int64_t notify_wake_ms(struct hub_notify *n, const char *app)
{
	int64_t at = 0;

	pthread_mutex_lock(&n->lock);
	for (unsigned i = 0; i < NOTIFY_WAKES; i++)
		if (n->wakes[i].at_ms > at && !strcmp(n->wakes[i].app, app))
			at = n->wakes[i].at_ms;
	pthread_mutex_unlock(&n->lock);
	return at;
}

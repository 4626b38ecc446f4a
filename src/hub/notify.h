/*
 * notify.h - a hub's news for the workers that wait on it: a version that
 * changes with every change to what workers run (an app created, moved,
 * removed or reported, a worker down) and the apps DNS asked for while
 * they were swapped out (their workers revive them at once).  Workers
 * long-poll GET /workers/NAME/sync with the version they saw.  In memory,
 * per hub: a worker waiting on another hub learns of a change at the end
 * of its wait.
 */
#ifndef PC_HUB_NOTIFY_H
#define PC_HUB_NOTIFY_H

#include <pthread.h>
#include <stdint.h>

#include "hub/request.h"

#define NOTIFY_WAKES 256

struct hub_notify {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t version;
	struct {
		char app[HUB_NAME_MAX + 1];
		int64_t at_ms;
	} wakes[NOTIFY_WAKES];
	unsigned next;
};

void notify_init(struct hub_notify *n);
void notify_free(struct hub_notify *n);
/* Something changed: the version moves on and waiters wake. */
void notify_change(struct hub_notify *n);
/* DNS asked for app (swapped out) at now_ms. */
void notify_wake(struct hub_notify *n, const char *app, int64_t now_ms);
/* Wait up to wait_ms for the version to differ from seen; the version. */
uint64_t notify_wait(struct hub_notify *n, uint64_t seen, int64_t wait_ms);
/* The last time DNS asked for app, 0 if not lately. */
int64_t notify_wake_ms(struct hub_notify *n, const char *app);

#endif

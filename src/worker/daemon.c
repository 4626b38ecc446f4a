/*
 * daemon.c - what every part of the daemon shares (see daemon.h): its
 * clocks and log, the apps' paths, finding an app, saving one to the
 * registry, waking or stopping the watch loop.  Starting and running the
 * daemon is run.c's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "box/box.h"
#include "common/err.h"
#include "common/event_log.h"
#include "worker/daemon.h"

int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void daemon_log(const char *name, const char *fmt, ...)
{
	char who[APP_NAME_MAX + 8];
	va_list ap;

	snprintf(who, sizeof(who), "app %s", name);
	va_start(ap, fmt);
	event_vlog(who, fmt, ap);
	va_end(ap);
}

void daemon_wake(struct daemon *d)
{
	char c = 1;

	if (write(d->wake[1], &c, 1) < 0 && errno != EAGAIN)
		return;
}

void app_path(const struct daemon *d, const char *name, const char *what, char *buf, size_t len)
{
	snprintf(buf, len, "%s/apps/%s/%s", d->dir, name, what);
}

struct app *daemon_find(struct daemon *d, const char *name)
{
	for (struct app *a = d->apps; a; a = a->next)
		if (!strcmp(a->spec.name, name))
			return a;
	return NULL;
}

const char *app_box_dir(const struct daemon *d, const struct app *a)
{
	return a->spec.runtime == APP_RT_BOX ? d->box_dir : NULL;
}

void app_load_box(struct daemon *d, struct app *a)
{
	struct box b;

	if (a->spec.runtime != APP_RT_BOX)
		return;
	if (box_open(d->box_dir, a->spec.name, &b) < 0) {
		daemon_log(a->spec.name, "error: %s", err_msg());
		return;
	}
	a->addr = b.addr;
	snprintf(a->veth, sizeof(a->veth), "%s", b.veth);
}

void daemon_save(struct daemon *d, struct app *a)
{
	json_t *row;

	if (a->state == APP_CREATING || a->removed)
		return;
	row = app_to_row(a);
	if (registry_put(d->reg, a->spec.name, row) < 0)
		daemon_log(a->spec.name, "error: %s", err_msg());
	json_decref(row);
}

void daemon_stop(struct daemon *d)
{
	d->stop = 1;
	daemon_wake(d);
}

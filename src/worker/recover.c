/*
 * recover.c - after a (re)start, the apps of the registry are found again:
 * a running app by its root's pid and start time (its keeper kept it
 * running), a napping app by the daemon's holder (which kept its
 * sockets), an
 * asleep app as it was (the kernel holds its packets for the queue this
 * daemon reads again, asleep.c), an app
 * whose swap was under way by the result its engine child left; then
 * the nftables elements no box owns are removed (box_prune).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "box/box.h"
#include "common/err.h"
#include "common/io.h"
#include "worker/daemon.h"
#include "worker/holder.h"

#define OP_WAIT_MS 120000

static int load_row(const json_t *row, void *arg)
{
	struct daemon *d = arg;
	struct app *a = calloc(1, sizeof(*a));

	if (!a)
		return err_set("out of memory");
	if (app_from_row(row, a) < 0) {
		daemon_log("-", "error: skipping a registry row: %s", err_msg());
		free(a);
		return 0;
	}
	a->next = d->apps;
	d->apps = a;
	return 0;
}

/* Is pid an engine child of an earlier daemon (a `picocenter serve`)? */
static int is_engine_child(pid_t pid)
{
	char path[64], buf[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	n = read_small(path, buf, sizeof(buf));
	if (n <= 0)
		return 0;
	return memmem(buf, (size_t)n, "serve", 6) != NULL && tree_start_time(pid) != 0;
}

/* An engine child that outlived the old daemon finishes its work first. */
static void wait_engine_child(struct app *a)
{
	struct timespec ts = { 0, 20 * 1000000L };
	int64_t end = mono_ms() + OP_WAIT_MS;

	if (!a->op_pid || !is_engine_child(a->op_pid))
		return;
	daemon_log(a->spec.name, "waiting for the %s under way (pid %d)",
		   app_state_name(a->state), (int)a->op_pid);
	while (is_engine_child(a->op_pid) && mono_ms() < end)
		nanosleep(&ts, NULL);
}

static void found_running(struct app *a)
{
	a->pidfd = (int)syscall(SYS_pidfd_open, a->pid, 0);
	a->active_ms = mono_ms();
	daemon_log(a->spec.name, "found running, pid %d", (int)a->pid);
}

static void recover_one(struct daemon *d, struct app *a)
{
	char holder[PATH_MAX];
	pid_t pid;

	a->pidfd = -1;
	app_load_box(d, a);
	switch (a->state) {
	case APP_RUNNING:
		holder_stop_own(d, a);
		if (a->pid && a->pid_start && tree_start_time(a->pid) == a->pid_start) {
			found_running(a);
			break;
		}
		a->state = APP_FAILED;
		snprintf(a->error, sizeof(a->error), "the app's processes ended while the daemon was down");
		daemon_log(a->spec.name, "error: %s", a->error);
		break;
	case APP_SWAPPING_OUT:
	case APP_SWAPPING_IN:
		pthread_mutex_unlock(&d->lock);
		wait_engine_child(a);
		pthread_mutex_lock(&d->lock);
		life_recover_op(d, a);
		break;
	case APP_ASLEEP:
		holder_stop_own(d, a);
		daemon_log(a->spec.name, "found asleep");
		break;
	case APP_NAPPING:
		if (holder_adopt(d, a) < 0)
			daemon_log(a->spec.name, "error: %s", err_msg());
		holder_paths(d, holder, sizeof(holder), NULL, 0);
		a->state = APP_NAPPING;
		a->napping_since_ms = mono_ms();
		daemon_log(a->spec.name, "found napping");
		if (a->tag[0] && !holder_find(holder, &pid))
			life_held_lost(d, a, "the holder is gone");
		else
			life_watch(d, a);
		break;
	case APP_FAILED:            /* a failed swap-in left its sockets held */
		if (holder_adopt(d, a) < 0)
			daemon_log(a->spec.name, "error: %s", err_msg());
		break;
	default:
		break;
	}
	daemon_save(d, a);
}

int recover_apps(struct daemon *d)
{
	int rc;

	pthread_mutex_lock(&d->lock);
	holder_recover(d);
	rc = registry_each(d->reg, load_row, d);
	for (struct app *a = d->apps; rc == 0 && a; a = a->next)
		recover_one(d, a);
	if (rc == 0)
		life_revive_lost(d);
	pthread_mutex_unlock(&d->lock);
	/* Elements of boxes whose records are gone (a box dir cut short by a
	 * crash), which would hold their addresses and ports: box/prune.c. */
	if (rc == 0 && box_prune(d->box_dir, NULL, 0, NULL) < 0)
		daemon_log("-", "error: pruning the boxes' nftables elements: %s", err_msg());
	return rc;
}

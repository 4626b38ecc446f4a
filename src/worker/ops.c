/*
 * ops.c - what the API asks of the daemon: create, list, inspect, remove
 * and swap apps.  A create either ends with the app running and in the
 * registry, or leaves nothing behind.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "store/store.h"
#include "worker/child.h"
#include "worker/daemon.h"
#include "worker/holder.h"
#include "worker/ports.h"

#define CREATE_READY_MS 15000
#define LOOPBACK_GRACE_MS 2000   /* a port open on loopback only this long: refused */

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Remove the app's directory and the files the daemon made in it. */
static void remove_app_dir(struct daemon *d, const char *name)
{
	char dir[PATH_MAX];

	app_path(d, name, "dump", dir, sizeof(dir));    /* an interrupted dump's */
	store_remove_dir(dir);
	app_path(d, name, "image", dir, sizeof(dir));   /* the image's cache */
	store_remove_dir(dir);
	app_path(d, name, "", dir, sizeof(dir));
	store_remove_dir(dir);
}

static int port_owner_conflict(struct daemon *d, const struct app_spec *spec)
{
	uint16_t mine[APP_MAX_PORTS], theirs[APP_MAX_PORTS], app[APP_MAX_PORTS];
	size_t n = spec_port_pairs(spec, mine, app);

	for (struct app *a = d->apps; a; a = a->next) {
		size_t m = spec_port_pairs(&a->spec, theirs, app);

		for (size_t i = 0; i < m; i++)
			for (size_t j = 0; j < n; j++)
				if (theirs[i] == mine[j])
					return err_set("port %u already taken by app %s", mine[j],
						       a->spec.name);
	}
	return 0;
}

static int check_host_ports(const struct app_spec *spec)
{
	uint16_t host[APP_MAX_PORTS], app[APP_MAX_PORTS];
	size_t n = spec_port_pairs(spec, host, app);

	for (size_t i = 0; i < n; i++) {
		int used;

		if (port_in_use(host[i], &used) < 0)
			return -1;
		if (used)
			return err_set("port %u already taken", host[i]);
	}
	return 0;
}

static int check_workdir(const struct app_spec *spec)
{
	struct stat st;

	if (!spec->workdir || spec->runtime == APP_RT_BOX)   /* a box's: inside it */
		return 0;
	if (stat(spec->workdir, &st) < 0)
		return err_sys("workdir %s", spec->workdir);
	if (!S_ISDIR(st.st_mode))
		return err_set("workdir %s is not a directory", spec->workdir);
	return 0;
}

struct start_args {
	const struct runtime *rt;
	const struct app_spec *spec;
	struct runtime_ctx ctx;
};

static int start_child(void *arg, void *out)
{
	struct start_args *s = arg;

	return s->rt->start(s->spec, &s->ctx, (pid_t *)out);
}

/* The last non-empty line of the app's log, for an error message. */
static void last_log_line(const char *path, char *buf, size_t len)
{
	char tail[1024];
	FILE *f = fopen(path, "re");
	size_t n;

	buf[0] = '\0';
	if (!f)
		return;
	if (fseek(f, -(long)(sizeof(tail) - 1), SEEK_END) < 0)
		rewind(f);
	n = fread(tail, 1, sizeof(tail) - 1, f);
	fclose(f);
	tail[n] = '\0';
	while (n && (tail[n - 1] == '\n' || tail[n - 1] == '\r'))
		tail[--n] = '\0';
	char *nl = strrchr(tail, '\n');
	snprintf(buf, len, "%.200s", nl ? nl + 1 : tail);
}

/* Every port the app listens on is open (a boxed app's, in its box, and
 * not on its loopback only: published ports reach the box's address);
 * *loopback_only: the first port open on the box's loopback only, or 0. */
static int ports_listening(const struct app_spec *spec, pid_t pid, int *ready,
			   uint16_t *loopback_only)
{
	uint16_t host[APP_MAX_PORTS], app[APP_MAX_PORTS];
	size_t n = spec_port_pairs(spec, host, app);
	int boxed = spec->runtime == APP_RT_BOX, used;

	*ready = 1;
	*loopback_only = 0;
	for (size_t i = 0; i < n && *ready; i++) {
		if (port_in_use_at(boxed ? pid : 0, app[i], &used) < 0)
			return -1;
		if (boxed && used == PORT_LOOPBACK)
			*loopback_only = app[i];
		*ready = used == PORT_REACHABLE || (!boxed && used);
	}
	return 0;
}

/* Wait until the app's ports listen (or, without ports, a short while),
 * failing if the tree ends meanwhile. */
static int wait_ready(const struct app_spec *spec, pid_t pid, const char *log)
{
	uint16_t host[APP_MAX_PORTS], app[APP_MAX_PORTS];
	size_t nports = spec_port_pairs(spec, host, app);
	int64_t end = mono_ms() + (nports ? CREATE_READY_MS : 300);
	int64_t lo_since = 0;
	char line[256];
	uint16_t lo = 0;
	int ready = 0;

	for (;;) {
		if (!tree_start_time(pid)) {
			last_log_line(log, line, sizeof(line));
			return err_set("the command exited at once%s%s%s", line[0] ? ": " : "", line,
				       spec->init ? " (nothing of it was left running)"
				       : " (without an init the app is the first process of its "
					 "tree and must stay in the foreground: a server that "
					 "daemonizes needs its foreground flag, e.g. nginx -g "
					 "'daemon off;', dnsmasq -k, named -f; or drop --no-init)");
		}
		if (nports && ports_listening(spec, pid, &ready, &lo) < 0)
			return -1;
		if (ready)
			return 0;
		lo_since = lo ? (lo_since ? lo_since : mono_ms()) : 0;
		if (mono_ms() >= end || (lo_since && mono_ms() - lo_since >= LOOPBACK_GRACE_MS))
			break;
		sleep_ms(20);
	}
	if (!nports)
		return 0;
	if (lo)
		return err_set("port %u listens on the box's loopback only (127.0.0.1 or ::1): "
			       "published ports reach the box's address; make the app listen on "
			       "0.0.0.0 or ::", lo);
	last_log_line(log, line, sizeof(line));
	return err_set("its ports do not listen after %d s%s%s", CREATE_READY_MS / 1000,
		       line[0] ? "; its log ends: " : "", line);
}

static int remove_child(void *arg, void *out)
{
	struct start_args *s = arg;

	(void)out;
	return s->rt->remove(&s->ctx);
}

/* Remove what a's runtime made besides its tree (its box); the tree is
 * gone or going.  Lock not held. */
static int remove_runtime_parts(struct daemon *d, const struct app *a)
{
	struct start_args s = { .rt = runtime_of(&a->spec), .spec = &a->spec };

	if (!s.rt->remove)
		return 0;
	s.ctx.image = a->spec.name;
	s.ctx.box_dir = app_box_dir(d, a);
	return child_run(remove_child, &s, NULL, 0, NULL, NULL);
}

static int start_app(struct daemon *d, struct app *a, pid_t *pid)
{
	struct start_args s = { .rt = runtime_of(&a->spec), .spec = &a->spec };
	char dir[PATH_MAX], log[PATH_MAX];
	struct err_saved why;

	app_path(d, a->spec.name, "", dir, sizeof(dir));
	app_path(d, a->spec.name, "log", log, sizeof(log));
	s.ctx.work_dir = dir;
	s.ctx.log = log;
	s.ctx.image = a->spec.name;
	s.ctx.box_dir = app_box_dir(d, a);
	s.ctx.bridge = d->bridge;
	s.ctx.subnet = d->subnet;
	s.ctx.subnet6 = d->subnet6;
	*pid = 0;
	if (mkdir_p(dir) < 0)
		return -1;
	if (child_run(start_child, &s, pid, sizeof(*pid), NULL, NULL) < 0)
		return -1;
	if (wait_ready(&a->spec, *pid, log) == 0)
		return 0;
	err_save(&why);
	if (tree_start_time(*pid))
		kill(*pid, SIGKILL);
	if (remove_runtime_parts(d, a) < 0)
		daemon_log(a->spec.name, "error: removing its box: %s", err_msg());
	return err_restore(&why);
}

static struct app *new_app(struct app_spec *spec)
{
	struct app *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->spec = *spec;
	memset(spec, 0, sizeof(*spec));
	a->state = APP_CREATING;
	a->pidfd = -1;
	a->timer_due_ms = -1;
	a->last_out.ms = a->last_in.ms = -1;
	a->busy = 1;
	return a;
}

static void unlink_app(struct daemon *d, struct app *a)
{
	for (struct app **p = &d->apps; *p; p = &(*p)->next)
		if (*p == a) {
			*p = a->next;
			return;
		}
}

static int create_checks(struct daemon *d, const struct app_spec *spec)
{
	if (daemon_find(d, spec->name))
		return err_set("app %s already exists", spec->name);
	if (port_owner_conflict(d, spec) < 0 || check_host_ports(spec) < 0)
		return -1;
	return 0;
}

/* A new app for spec (taken) at the head of the list, busy (lock held):
 * 0, or the HTTP status of why not. */
static int add_app(struct daemon *d, struct app_spec *spec, struct app **out)
{
	struct app *a;

	if (create_checks(d, spec) < 0)
		return 409;
	a = new_app(spec);
	if (!a)
		return err_set("out of memory"), 500;
	a->next = d->apps;
	d->apps = a;
	*out = a;
	return 0;
}

int op_create(struct daemon *d, struct app_spec *spec, json_t **out)
{
	struct app *a;
	pid_t pid;
	int rc;

	*out = NULL;
	if (check_workdir(spec) < 0)
		return 400;
	if (spec->sleep_set && !runtime_of(spec)->box_of)
		return err_set("--sleep needs a box: a plain app never falls asleep "
			       "(napping is its deepest tier)"), 400;
	pthread_mutex_lock(&d->lock);
	rc = add_app(d, spec, &a);
	pthread_mutex_unlock(&d->lock);
	if (rc)
		return rc;

	rc = start_app(d, a, &pid);
	pthread_mutex_lock(&d->lock);
	if (rc < 0) {
		err_wrap("app %s", a->spec.name);
		daemon_log(a->spec.name, "error: create: %s", err_msg());
		unlink_app(d, a);
		remove_app_dir(d, a->spec.name);
		pthread_cond_broadcast(&d->changed);
		pthread_mutex_unlock(&d->lock);
		app_free(a);
		return 400;
	}
	a->pid = pid;
	a->pid_start = tree_start_time(pid);
	a->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	a->state = APP_RUNNING;
	a->active_ms = mono_ms();
	app_load_box(d, a);
	daemon_save(d, a);
	daemon_log(a->spec.name, "created, pid %d", (int)pid);
	*out = app_to_view(a);
	life_release(d, a);
	pthread_mutex_unlock(&d->lock);
	return 201;
}

int op_list(struct daemon *d, json_t **out)
{
	json_t *list = json_array();

	pthread_mutex_lock(&d->lock);
	for (struct app *a = d->apps; list && a; a = a->next)
		if (a->state != APP_CREATING)
			json_array_append_new(list, app_to_view(a));
	pthread_mutex_unlock(&d->lock);
	*out = list;
	return list ? 200 : (err_set("out of memory"), 500);
}

static struct app *find_visible(struct daemon *d, const char *name)
{
	struct app *a = daemon_find(d, name);

	if (!a || a->state == APP_CREATING || a->removed) {
		err_set("no app named %.64s", name);
		return NULL;
	}
	return a;
}

int op_inspect(struct daemon *d, const char *name, json_t **out)
{
	struct app *a;

	pthread_mutex_lock(&d->lock);
	a = find_visible(d, name);
	*out = a ? app_to_view(a) : NULL;
	pthread_mutex_unlock(&d->lock);
	return a ? 200 : 404;
}

int op_log_path(struct daemon *d, const char *name, char *buf, size_t len)
{
	struct app *a;

	pthread_mutex_lock(&d->lock);
	a = find_visible(d, name);
	if (a)
		app_path(d, name, "log", buf, len);
	pthread_mutex_unlock(&d->lock);
	return a ? 200 : 404;
}

/* Wait until a is not busy, then own it (lock held).  NULL: it is gone. */
static struct app *own_app(struct daemon *d, const char *name)
{
	struct app *a;

	while ((a = find_visible(d, name)) && a->busy)
		pthread_cond_wait(&d->changed, &d->lock);
	if (a)
		a->busy = 1;
	return a;
}

/* Take the lock and own the app; NULL (lock not held): it is gone. */
static struct app *lock_own(struct daemon *d, const char *name)
{
	struct app *a;

	pthread_mutex_lock(&d->lock);
	a = own_app(d, name);
	if (!a)
		pthread_mutex_unlock(&d->lock);
	return a;
}

static int swap_op(struct daemon *d, const char *name, int swap_in, json_t **out)
{
	struct app *a;
	int rc = 0;

	*out = NULL;
	a = lock_own(d, name);
	if (!a)
		return 404;
	if (swap_in && a->state != APP_RUNNING)
		rc = life_swap_in(d, a, "api");
	else if (!swap_in && a->state != APP_NAPPING && a->state != APP_ASLEEP)
		rc = life_swap_out(d, a, "api");
	*out = rc == 0 ? app_to_view(a) : NULL;
	life_release(d, a);
	pthread_mutex_unlock(&d->lock);
	if (rc < 0)
		return strstr(err_msg(), ", not ") ? 409 : 500;
	return 200;
}

int op_swap_out(struct daemon *d, const char *name, json_t **out)
{
	return swap_op(d, name, 0, out);
}

int op_swap_in(struct daemon *d, const char *name, json_t **out)
{
	return swap_op(d, name, 1, out);
}

static int forget_image(void *arg, void *out)
{
	const char **a = arg;
	uint64_t removed = 0;
	struct store *s;
	int rc;

	(void)out;
	if (store_open(a[0], &s) < 0)
		return -1;
	rc = store_rm_image(s, a[1], NULL, &removed);
	store_close(s);
	return rc;
}

/* Kill a's tree and holder and remove everything of it here, its image
 * too when image (lock held, a owned; returns with the lock held). */
static void drop_owned(struct daemon *d, struct app *a, int image)
{
	char name[APP_NAME_MAX + 1];
	const char *args[2];

	snprintf(name, sizeof(name), "%s", a->spec.name);
	a->removed = 1;
	asleep_forget(d, a);
	if (a->pid && a->pid_start && tree_start_time(a->pid) == a->pid_start)
		kill(a->pid, SIGKILL);
	holder_drop(d, a);
	custody_free(a->held, a->nr_held);
	a->held = NULL;
	a->nr_held = 0;
	daemon_wake(d);
	args[0] = d->store_url;
	args[1] = a->spec.name;
	pthread_mutex_unlock(&d->lock);
	if (image && a->swaps && child_run(forget_image, args, NULL, 0, NULL, NULL) < 0 &&
	    !strstr(err_msg(), "no image"))
		daemon_log(name, "error: removing its image: %s", err_msg());
	if (remove_runtime_parts(d, a) < 0)
		daemon_log(name, "error: removing its box: %s", err_msg());
	pthread_mutex_lock(&d->lock);
	if (registry_delete(d->reg, name) < 0)
		daemon_log(name, "error: %s", err_msg());
	remove_app_dir(d, name);
	unlink_app(d, a);
	pthread_cond_broadcast(&d->changed);
	daemon_log(name, image ? "removed" : "let go (its image stays in the store)");
	app_free(a);
}

int op_remove(struct daemon *d, const char *name)
{
	struct app *a = lock_own(d, name);

	if (!a)
		return 404;
	drop_owned(d, a, 1);
	pthread_mutex_unlock(&d->lock);
	return 200;
}

/* ---- apps handed between daemons through the shared store ---- */

int op_let_go(struct daemon *d, const char *name, int save, int64_t *image_ms,
	      int64_t *timer_due_ms)
{
	struct app *a;
	int rc = 0;

	*image_ms = 0;
	*timer_due_ms = 0;
	a = lock_own(d, name);
	if (!a)
		return 404;
	if ((a->state == APP_NAPPING || a->state == APP_ASLEEP) && a->timer_due_ms > 0)
		*timer_due_ms = a->timer_due_ms;
	if (save && (a->state == APP_RUNNING || a->state == APP_FAILED))
		rc = life_swap_out(d, a, "move");
	if (rc < 0 || (save && a->state != APP_NAPPING && a->state != APP_ASLEEP)) {
		if (rc == 0)
			err_set("app %s is %s: it has no whole image to hand over", name,
				app_state_name(a->state));
		life_release(d, a);
		pthread_mutex_unlock(&d->lock);
		return 409;
	}
	if (save)
		*image_ms = a->dump_started_ms;
	drop_owned(d, a, 0);
	pthread_mutex_unlock(&d->lock);
	return 200;
}

int op_adopt(struct daemon *d, struct app_spec *spec, int64_t image_ms, int64_t timer_due_ms,
	     uint32_t box_addr, const char *trigger, int later)
{
	char dir[PATH_MAX];
	struct app *a;
	int rc;

	pthread_mutex_lock(&d->lock);
	rc = add_app(d, spec, &a);
	if (rc) {
		pthread_mutex_unlock(&d->lock);
		return rc;
	}
	/* Asleep with no box here: its box is made ahead, from the spec, and
	 * holds its packets; the restore completes it from the image (its
	 * record and writable layer) and makes the sockets anew. */
	a->state = APP_ASLEEP;
	a->swaps = 1;
	a->dump_started_ms = image_ms;
	a->last_out.at_ms = image_ms;
	a->timer_due_ms = timer_due_ms > 0 ? timer_due_ms : -1;
	/* woken later: a packet (the hold), a wake, its timer (the watch) */
	later = later && runtime_of(&a->spec)->box_ahead;
	app_path(d, a->spec.name, "", dir, sizeof(dir));
	rc = mkdir_p(dir);
	if (rc == 0) {
		daemon_save(d, a);
		rc = asleep_ahead(d, a, box_addr);
	}
	if (rc == 0 && !later)
		rc = life_swap_in(d, a, trigger);
	if (rc < 0) {
		struct err_saved why;

		err_save(&why);
		daemon_log(a->spec.name, "error: revival from the store: %s", err_msg());
		drop_owned(d, a, 0);
		pthread_mutex_unlock(&d->lock);
		err_restore(&why);
		return 500;
	}
	app_load_box(d, a);
	daemon_save(d, a);
	life_release(d, a);
	pthread_mutex_unlock(&d->lock);
	return 200;
}

int op_wake(struct daemon *d, const char *name, const char *trigger)
{
	struct app *a;

	pthread_mutex_lock(&d->lock);
	a = find_visible(d, name);
	if (a && !a->busy && (a->state == APP_NAPPING || a->state == APP_ASLEEP))
		life_spawn(d, a, LIFE_SWAP_IN, trigger);
	pthread_mutex_unlock(&d->lock);
	return a ? 200 : 404;
}

/*
 * life.c - an app's swaps: running -> swapping-out -> napping and back
 * through swapping-in, each engine call in an engine child (child.h) with
 * the daemon's lock dropped.  A failed swap-out leaves the app running; a
 * failed swap-in leaves its image and held sockets and marks it failed.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/timing.h"
#include "worker/child.h"
#include "worker/daemon.h"
#include "worker/holder.h"

/* What an engine child reports (also written to DIR/apps/NAME/op.result,
 * for a daemon that restarts while the operation runs). */
#define OP_RESULT_MAGIC 0x7069636f6f707231ull
struct op_result {
	uint64_t magic;
	pid_t writer;               /* the engine child */
	int ok;
	int swap_in;
	pid_t pid;                  /* swap-out failed: the app's root now; swap-in: new root */
	int64_t started_wall_ms;
	struct image_facts facts;
	struct cr_mem_stats mem;    /* swap-in: what the restore read */
};

struct op_args {
	const struct runtime *rt;
	struct runtime_ctx ctx;
	pid_t pid;
};

struct op_paths {
	char holder[PATH_MAX], work[PATH_MAX], log[PATH_MAX];
};

static void op_paths(struct daemon *d, struct app *a, struct op_paths *p)
{
	holder_paths(d, p->holder, sizeof(p->holder), NULL, 0);
	app_path(d, a->spec.name, "", p->work, sizeof(p->work));
	app_path(d, a->spec.name, "log", p->log, sizeof(p->log));
}

static void op_ctx(struct daemon *d, struct app *a, struct op_paths *p, struct op_args *args)
{
	memset(args, 0, sizeof(*args));
	args->rt = runtime_of(&a->spec);
	args->ctx.box_dir = app_box_dir(d, a);
	args->ctx.store_url = d->store_url;
	args->ctx.image = a->spec.name;
	args->ctx.holder = p->holder;
	args->ctx.work_dir = p->work;
	args->ctx.log = p->log;
	args->ctx.cache_dir = d->cache_dir[0] ? d->cache_dir : NULL;
	args->pid = a->pid;
}

struct started_ctx {
	struct daemon *d;
	struct app *a;
};

/* The engine child's pid goes to the registry: after a daemon crash the
 * restarted daemon waits for it before it looks at the app. */
static void note_op_pid(pid_t pid, void *arg)
{
	struct started_ctx *s = arg;

	pthread_mutex_lock(&s->d->lock);
	s->a->op_pid = pid;
	daemon_save(s->d, s->a);
	pthread_mutex_unlock(&s->d->lock);
}

/* In the engine child: the result where a restarted daemon finds it. */
static void write_result(const struct op_args *a, struct op_result *r, int rc)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	int fd;

	r->magic = OP_RESULT_MAGIC;
	r->writer = getpid();
	r->ok = rc == 0;
	snprintf(path, sizeof(path), "%s/op.result", a->ctx.work_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, r, sizeof(*r)) == (ssize_t)sizeof(*r) && fsync(fd) == 0)
		rename(tmp, path);
	close(fd);
}

static int dump_child(void *arg, void *out)
{
	struct op_args *a = arg;
	struct op_result *r = out;
	int rc;

	r->pid = a->pid;
	r->started_wall_ms = wall_ms();
	rc = a->rt->dump(&r->pid, &a->ctx, &r->facts);
	write_result(a, r, rc);
	return rc;
}

static int restore_child(void *arg, void *out)
{
	struct op_args *a = arg;
	struct op_result *r = out;
	int rc;

	r->swap_in = 1;
	r->started_wall_ms = wall_ms();
	rc = a->rt->restore(&a->ctx, &r->pid, &r->mem);
	write_result(a, r, rc);
	return rc;
}

static void close_pidfd(struct app *a)
{
	if (a->pidfd >= 0)
		close(a->pidfd);
	a->pidfd = -1;
}

static void set_running(struct app *a, pid_t pid)
{
	close_pidfd(a);
	a->pid = pid;
	a->pid_start = tree_start_time(pid);
	a->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	a->state = APP_RUNNING;
	a->active_ms = mono_ms();
	memset(&a->sample, 0, sizeof(a->sample));
}

static void set_event(struct swap_event *e, int64_t ms, const char *trigger)
{
	e->ms = ms;
	e->at_ms = wall_ms();
	snprintf(e->trigger, sizeof(e->trigger), "%s", trigger);
}

static void drop_watch(struct app *a)
{
	custody_free(a->held, a->nr_held);
	a->held = NULL;
	a->nr_held = 0;
}

void life_watch(struct daemon *d, struct app *a)
{
	char path[PATH_MAX];

	drop_watch(a);
	if (!a->tag[0])
		return;
	holder_paths(d, path, sizeof(path), NULL, 0);
	if (holder_watch(path, a->tag, &a->held, &a->nr_held) < 0)
		life_held_lost(d, a, err_msg());
	daemon_wake(d);
}

void life_held_lost(struct daemon *d, struct app *a, const char *why)
{
	daemon_log(a->spec.name, "error: its held sockets are lost (%s); its next revival makes "
		   "them anew from the image (connections it held are closed)", why);
	drop_watch(a);
	a->tag[0] = '\0';
	a->held_lost = 1;
	if (a->state == APP_NAPPING && runtime_of(&a->spec)->box_of)
		a->napping_since_ms = mono_ms() - a->spec.sleep_ms;    /* asleep at once */
	daemon_wake(d);
}

void life_revive_lost(struct daemon *d)
{
	for (struct app *a = d->apps; a; a = a->next)
		if (!a->busy && a->state == APP_NAPPING && a->held_lost &&
		    !runtime_of(&a->spec)->box_of)
			life_spawn(d, a, LIFE_SWAP_IN, "holder-lost");
}

static void swap_out_done(struct daemon *d, struct app *a, const struct op_result *r,
			  int64_t start_wall, int64_t ms, const char *trigger)
{
	close_pidfd(a);
	a->pid = 0;
	a->pid_start = 0;
	a->state = APP_NAPPING;
	a->napping_since_ms = mono_ms();
	snprintf(a->tag, sizeof(a->tag), "%s", r->facts.custody_tag);
	a->timer_due_ms = r->facts.timer_ms >= 0 ? start_wall + r->facts.timer_ms : -1;
	a->dump_started_ms = start_wall;
	a->image_bytes = r->facts.image_bytes;
	a->generation = r->facts.generation;
	a->swaps++;
	a->error[0] = '\0';
	set_event(&a->last_out, ms, trigger);
	metrics_observe(&d->m.swap_out, ms);
	d->m.store_written += r->facts.bytes_written;
	if (a->timer_due_ms >= 0)
		daemon_log(a->spec.name, "swapped out in %lld ms (%s), %llu bytes written; timer due in %lld ms",
			   (long long)ms, trigger, (unsigned long long)r->facts.bytes_written,
			   (long long)r->facts.timer_ms);
	else
		daemon_log(a->spec.name, "swapped out in %lld ms (%s), %llu bytes written",
			   (long long)ms, trigger, (unsigned long long)r->facts.bytes_written);
	life_watch(d, a);
}

static void swap_out_failed(struct daemon *d, struct app *a, const struct op_result *r)
{
	d->m.swap_out_failures++;
	snprintf(a->error, sizeof(a->error), "swap-out: %s", err_msg());
	if (r->pid > 0 && tree_start_time(r->pid)) {
		set_running(a, r->pid);
		daemon_log(a->spec.name, "error: swap-out failed, still running: %s", err_msg());
	} else {
		close_pidfd(a);
		a->state = APP_FAILED;
		daemon_log(a->spec.name, "error: swap-out failed and the app is gone: %s", err_msg());
	}
}

int life_swap_out(struct daemon *d, struct app *a, const char *trigger)
{
	struct started_ctx sc = { d, a };
	struct op_result r = { 0 };
	struct op_paths p;
	struct op_args args;
	int64_t t0, wall0;
	int rc;

	if (a->state != APP_RUNNING)
		return err_set("app %s is %s, not running", a->spec.name, app_state_name(a->state));
	op_paths(d, a, &p);
	if (holder_ensure(d) < 0) {
		snprintf(a->error, sizeof(a->error), "swap-out: %s", err_msg());
		daemon_log(a->spec.name, "error: swap-out: %s", err_msg());
		return -1;
	}
	if (strcmp(trigger, "idle") == 0)
		daemon_log(a->spec.name, "idle for %lld ms", (long long)a->spec.idle_ms);
	a->state = APP_SWAPPING_OUT;
	daemon_save(d, a);
	op_ctx(d, a, &p, &args);
	/* An app's first image, and the first after a failed restore, is
	 * restored into a trial tree before the app is killed. */
	args.ctx.verify = a->swaps == 0 || a->restore_failed;
	pthread_mutex_unlock(&d->lock);
	t0 = mono_ms();
	wall0 = wall_ms();
	rc = child_run(dump_child, &args, &r, sizeof(r), note_op_pid, &sc);
	pthread_mutex_lock(&d->lock);
	a->op_pid = 0;
	if (rc == 0) {
		a->restore_failed = 0;
		swap_out_done(d, a, &r, r.started_wall_ms ? r.started_wall_ms : wall0,
			      mono_ms() - t0, trigger);
	}
	else
		swap_out_failed(d, a, &r);
	daemon_save(d, a);
	return rc;
}

/* Without a box apps share the host's network namespace, where another
 * tree may hold, for a while, an address the image needs (a netlink port
 * id: every namespace init autobinds to port id 1).  Such a restore is
 * tried again for about a second. */
#define RESTORE_TRIES 6
#define RESTORE_RETRY_MS 200

/* One string of a packed op_args: copied after the struct, *field
 * pointing at the copy.  0 when it does not fit. */
static int pack_str(const char **field, char *dst, size_t cap, size_t *at)
{
	size_t n;

	if (!*field)
		return 1;
	n = strlen(*field) + 1;
	if (*at + n > cap)
		return 0;
	memcpy(dst + *at, *field, n);
	*field = dst + *at;
	*at += n;
	return 1;
}

/* An op_args that holds no pointer outside dst (child_run_packed: the
 * spare engine child was forked before these strings existed); rt is a
 * static of the program, the same in every child. */
static size_t pack_args(const void *arg, void *dst, size_t cap)
{
	struct op_args *a = dst;
	struct runtime_ctx *c = &a->ctx;
	const char **fields[] = { &c->store_url, &c->image, &c->holder, &c->work_dir, &c->log,
				  &c->box_dir, &c->bridge, &c->subnet, &c->subnet6, &c->cache_dir };
	size_t at = sizeof(*a);

	if (cap < sizeof(*a))
		return 0;
	memcpy(a, arg, sizeof(*a));
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (!pack_str(fields[i], dst, cap, &at))
			return 0;
	return at;
}

static int restore_with_retries(struct op_args *args, struct op_result *r, struct started_ctx *sc)
{
	struct timespec ts = { 0, RESTORE_RETRY_MS * 1000000L };
	int rc = -1;

	for (int i = 0; i < RESTORE_TRIES; i++) {
		if (i) {
			daemon_log(sc->a->spec.name, "restore failed (%s); trying again", err_msg());
			nanosleep(&ts, NULL);
		}
		rc = child_run_packed(restore_child, args, pack_args, r, sizeof(*r), note_op_pid, sc);
		if (rc == 0 || !strstr(err_msg(), " is taken"))
			break;
	}
	return rc;
}

int life_swap_in(struct daemon *d, struct app *a, const char *trigger)
{
	struct started_ctx sc = { d, a };
	struct op_result r = { 0 };
	struct op_paths p;
	struct op_args args;
	int64_t t0, ms;
	int rc, asleep = a->state == APP_ASLEEP;

	if (a->state != APP_NAPPING && a->state != APP_ASLEEP &&
	    !(a->state == APP_FAILED && a->swaps > 0 && !a->pid))
		return err_set("app %s is %s, not swapped out", a->spec.name, app_state_name(a->state));
	uint64_t ts = now_ns();
	op_paths(d, a, &p);
	drop_watch(a);
	a->state = APP_SWAPPING_IN;
	daemon_save(d, a);
	timing_span("serve: swap-in's row saved", ts, now_ns());
	op_ctx(d, a, &p, &args);
	if (a->sleep_addr || asleep || a->held_lost)
		args.ctx.holder = NULL;    /* asleep or lost: its sockets are made anew */
	args.ctx.stored_ms = a->last_out.at_ms > 0 ? wall_ms() - a->dump_started_ms : 0;
	args.ctx.advance_timers = a->timer_due_ms >= 0;
	args.ctx.generation = a->generation;
	pthread_mutex_unlock(&d->lock);
	t0 = mono_ms();
	timing_mark("serve: swap-in begun, forking the engine child");
	rc = restore_with_retries(&args, &r, &sc);
	if (rc < 0 && args.ctx.holder && strstr(err_msg(), "listener custody")) {
		pthread_mutex_lock(&d->lock);
		life_held_lost(d, a, err_msg());
		pthread_mutex_unlock(&d->lock);
		args.ctx.holder = NULL;
		rc = restore_with_retries(&args, &r, &sc);
	}
	ms = mono_ms() - t0;
	pthread_mutex_lock(&d->lock);
	a->op_pid = 0;
	if (rc == 0) {
		set_running(a, r.pid);
		a->held_lost = 0;
		holder_drop(d, a);      /* handed back already: in case the hand-back was lost */
		a->error[0] = '\0';
		a->timer_due_ms = -1;
		set_event(&a->last_in, ms, trigger);
		metrics_observe(&d->m.swap_in, ms);
		d->m.store_read += r.mem.bytes_store;
		d->m.cache_read += r.mem.bytes_cache;
		d->m.local_read += r.mem.bytes_local;
		d->m.local_used += r.mem.local_copy == 1;
		d->m.local_rejected += r.mem.local_copy == 2;
		a->last_in_mem = r.mem;
		daemon_log(a->spec.name, "swapped in in %lld ms (trigger %s), pid %d, %llu bytes read",
			   (long long)ms, trigger, (int)r.pid,
			   (unsigned long long)(r.mem.bytes_store + r.mem.bytes_cache));
	} else {
		d->m.swap_in_failures++;
		a->restore_failed = 1;
		a->state = APP_FAILED;
		snprintf(a->error, sizeof(a->error), "swap-in: %s", err_msg());
		daemon_log(a->spec.name, "error: swap-in (trigger %s) failed: %s", trigger, err_msg());
	}
	asleep_woken(d, a, rc == 0);
	daemon_save(d, a);
	return rc;
}

void life_release(struct daemon *d, struct app *a)
{
	a->busy = 0;
	pthread_cond_broadcast(&d->changed);
	daemon_wake(d);
}

struct spawn_args {
	struct daemon *d;
	struct app *a;
	enum life_op op;
	char trigger[16];
	uint64_t t0;             /* now_ns() when asked */
};

static void *op_thread(void *arg)
{
	struct spawn_args *s = arg;

	pthread_mutex_lock(&s->d->lock);
	timing_span("serve: asked to the operation's thread, locked", s->t0, now_ns());
	if (s->op == LIFE_SWAP_IN)
		life_swap_in(s->d, s->a, s->trigger);
	else if (s->op == LIFE_SLEEP && life_sleep(s->d, s->a, s->trigger) < 0)
		daemon_log(s->a->spec.name, "error: %s", err_msg());
	else if (s->op == LIFE_SWAP_OUT)
		life_swap_out(s->d, s->a, s->trigger);
	life_release(s->d, s->a);
	pthread_mutex_unlock(&s->d->lock);
	free(s);
	return NULL;
}

void life_spawn(struct daemon *d, struct app *a, enum life_op op, const char *trigger)
{
	struct spawn_args *s = calloc(1, sizeof(*s));
	pthread_attr_t attr;
	pthread_t t;

	if (!s) {
		daemon_log(a->spec.name, "error: out of memory");
		return;
	}
	s->d = d;
	s->a = a;
	s->op = op;
	s->t0 = now_ns();
	snprintf(s->trigger, sizeof(s->trigger), "%s", trigger);
	a->busy = 1;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, op_thread, s) != 0) {
		a->busy = 0;
		free(s);
		daemon_log(a->spec.name, "error: cannot start a thread for %s",
			   op == LIFE_SWAP_IN ? "swap-in" : op == LIFE_SLEEP ? "sleep" : "swap-out");
	}
	pthread_attr_destroy(&attr);
}

/* The result an engine child wrote for a, if it is the one of a->op_pid. */
static int read_result(struct daemon *d, struct app *a, struct op_result *r)
{
	char path[PATH_MAX];
	int fd;
	ssize_t n;

	app_path(d, a->spec.name, "op.result", path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, r, sizeof(*r));
	close(fd);
	if (n != (ssize_t)sizeof(*r) || r->magic != OP_RESULT_MAGIC || r->writer != a->op_pid)
		return -1;
	return 0;
}

void life_recover_op(struct daemon *d, struct app *a)
{
	int alive = a->pid && a->pid_start && tree_start_time(a->pid) == a->pid_start;
	struct op_result r;
	int have = a->op_pid && read_result(d, a, &r) == 0;

	a->op_pid = 0;
	if (a->state == APP_SWAPPING_OUT) {
		if (alive || !have || !r.ok) {
			if (alive) {
				set_running(a, a->pid);
				daemon_log(a->spec.name, "found running (its swap-out did not finish)");
			} else {
				a->state = APP_FAILED;
				snprintf(a->error, sizeof(a->error),
					 "swap-out interrupted by a daemon restart; the app is gone");
				daemon_log(a->spec.name, "error: %s", a->error);
			}
		} else {
			swap_out_done(d, a, &r, r.started_wall_ms, 0, "idle");
			daemon_log(a->spec.name, "found napping (its swap-out finished while the daemon was down)");
		}
		return;
	}
	/* swapping-in */
	if (have && r.ok && tree_start_time(r.pid)) {
		set_running(a, r.pid);
		a->timer_due_ms = -1;
		daemon_log(a->spec.name, "found running, pid %d (its swap-in finished while the daemon was down)",
			   (int)r.pid);
	} else {
		a->state = APP_NAPPING;
		a->napping_since_ms = mono_ms();
		life_watch(d, a);
		daemon_log(a->spec.name, "found napping (its swap-in did not finish)");
	}
}

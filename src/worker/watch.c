/*
 * watch.c - the daemon's loop: it polls the sockets held for napping apps
 * (a connection, a datagram or data waiting revives the app), the pidfds of
 * running apps (an app that ends is marked failed), the earliest timer of
 * each napping app (revived when due), the packets held for asleep apps
 * (asleep.c: each revives its app), puts napping apps past their sleep
 * time to sleep, and once a second samples running apps for the idle
 * policy (docs/serve.md) and caps their logs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "worker/child.h"
#include "worker/daemon.h"
#include "worker/holder.h"
#include "worker/traffic.h"

#define LOOP_MAX_WAIT_MS 250
#define SAMPLE_EVERY_MS 1000
#define TIMER_LEAD_MS 30           /* start a timer's revival this early */

enum watch_kind { W_WAKE, W_HELD, W_PIDFD, W_HOLD };

struct watch_set {
	struct pollfd *pfd;
	struct app **app;
	enum watch_kind *kind;
	size_t n, cap;
};

static int watch_add(struct watch_set *w, int fd, struct app *a, enum watch_kind kind)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct pollfd *p = realloc(w->pfd, cap * sizeof(*p));
		struct app **ap = p ? realloc(w->app, cap * sizeof(*ap)) : NULL;
		enum watch_kind *k = ap ? realloc(w->kind, cap * sizeof(*k)) : NULL;

		if (p)
			w->pfd = p;
		if (ap)
			w->app = ap;
		if (!k)
			return err_set("out of memory");
		w->kind = k;
		w->cap = cap;
	}
	w->pfd[w->n] = (struct pollfd){ .fd = fd, .events = POLLIN };
	w->app[w->n] = a;
	w->kind[w->n++] = kind;
	return 0;
}

/* Lock held: what to poll, and how long at most (the next timer). */
static int build_set(struct daemon *d, struct watch_set *w, int *timeout)
{
	int64_t now = wall_ms();

	w->n = 0;
	*timeout = LOOP_MAX_WAIT_MS;
	if (watch_add(w, d->wake[0], NULL, W_WAKE) < 0)
		return -1;
	if (asleep_fd(d) >= 0 && watch_add(w, asleep_fd(d), NULL, W_HOLD) < 0)
		return -1;
	for (struct app *a = d->apps; a; a = a->next) {
		if (a->busy)
			continue;
		if (a->state == APP_NAPPING) {
			for (size_t i = 0; i < a->nr_held; i++)
				if (watch_add(w, a->held[i].fd, a, W_HELD) < 0)
					return -1;
		}
		if ((a->state == APP_NAPPING || a->state == APP_ASLEEP) && a->timer_due_ms >= 0 &&
		    a->timer_due_ms - TIMER_LEAD_MS - now < *timeout) {
			*timeout = (int)(a->timer_due_ms - TIMER_LEAD_MS - now);
		} else if (a->state == APP_RUNNING && a->pidfd >= 0 &&
			   watch_add(w, a->pidfd, a, W_PIDFD) < 0) {
			return -1;
		}
	}
	if (*timeout < 0)
		*timeout = 0;
	return 0;
}

static int app_listed(struct daemon *d, struct app *a)
{
	for (struct app *x = d->apps; x; x = x->next)
		if (x == a)
			return 1;
	return 0;
}

static void app_exited(struct daemon *d, struct app *a)
{
	close(a->pidfd);
	a->pidfd = -1;
	a->state = APP_FAILED;
	snprintf(a->error, sizeof(a->error), "the app's processes ended (pid %d)", (int)a->pid);
	a->pid = 0;
	daemon_log(a->spec.name, "error: %s", a->error);
	daemon_save(d, a);
}

/* Lock held: act on what poll saw. */
static void handle_ready(struct daemon *d, struct watch_set *w)
{
	for (size_t i = 1; i < w->n; i++) {
		struct app *a = w->app[i];

		if (w->kind[i] == W_HOLD && w->pfd[i].revents)
			asleep_packets(d);
		if (w->kind[i] == W_HOLD || !w->pfd[i].revents || !app_listed(d, a) || a->busy)
			continue;
		if (w->kind[i] == W_HELD && a->state == APP_NAPPING)
			life_spawn(d, a, 1, "traffic");
		else if (w->kind[i] == W_PIDFD && a->state == APP_RUNNING)
			app_exited(d, a);
	}
}

static void due_timers(struct daemon *d)
{
	int64_t now = wall_ms();

	for (struct app *a = d->apps; a; a = a->next)
		if (!a->busy && (a->state == APP_NAPPING || a->state == APP_ASLEEP) &&
		    a->timer_due_ms >= 0 &&
		    a->timer_due_ms - TIMER_LEAD_MS <= now)
			life_spawn(d, a, 1, "timer");
}

struct sample_job {
	struct app *a;
	pid_t pid;
	char veth[16];              /* a boxed app's interface: its packets count */
	struct tree_sample s;
	int ok;
};

/* Lock held: was a busy in the last round, and has it been idle long enough? */
static void judge_idle(struct daemon *d, struct app *a, const struct tree_sample *s,
		       int64_t elapsed_ms)
{
	const struct tree_sample *prev = &a->sample;
	int64_t now = mono_ms();
	int active = !prev->nr_procs || s->traffic != prev->traffic ||
		     (s->cpu_ns > prev->cpu_ns &&
		      (s->cpu_ns - prev->cpu_ns) * 1000 > (uint64_t)elapsed_ms * 1000000 * a->spec.idle_cpu);

	if (active)
		a->active_ms = now;
	a->sample = *s;
	a->rss_bytes = s->rss_bytes;
	if (now - a->active_ms >= a->spec.idle_ms)
		life_spawn(d, a, 0, "idle");
}

static void sample_round(struct daemon *d, int64_t elapsed_ms)
{
	struct traffic t = { 0 };
	struct sample_job *jobs = NULL;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&d->lock);
	for (struct app *a = d->apps; a; a = a->next) {
		if (a->busy || a->state != APP_RUNNING)
			continue;
		if (n == cap) {
			struct sample_job *j = realloc(jobs, (cap = cap ? cap * 2 : 32) * sizeof(*j));

			if (!j)
				break;
			jobs = j;
		}
		jobs[n] = (struct sample_job){ .a = a, .pid = a->pid };
		memcpy(jobs[n++].veth, a->veth, sizeof(a->veth));
	}
	pthread_mutex_unlock(&d->lock);
	if (n && traffic_snapshot(&t) < 0)
		daemon_log("-", "error: traffic sample: %s", err_msg());
	for (size_t i = 0; i < n; i++) {
		jobs[i].ok = tree_sample(jobs[i].pid, &t, &jobs[i].s) == 0;
		if (jobs[i].veth[0])
			jobs[i].s.traffic += traffic_iface_packets(jobs[i].veth) * 0x100000001b3ull;
	}
	traffic_free(&t);
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < n; i++) {
		struct app *a = jobs[i].a;

		if (jobs[i].ok && app_listed(d, a) && !a->busy && a->state == APP_RUNNING &&
		    a->pid == jobs[i].pid)
			judge_idle(d, a, &jobs[i].s, elapsed_ms);
	}
	pthread_mutex_unlock(&d->lock);
	free(jobs);
}

/* Keep at most two files of APP_LOG_CAP bytes: log.1 (older) and log. */
static void cap_log(const char *path)
{
	char old[PATH_MAX + 8], buf[65536];
	struct stat st;
	int in, out;
	ssize_t n;

	if (stat(path, &st) < 0 || st.st_size <= APP_LOG_CAP)
		return;
	snprintf(old, sizeof(old), "%s.1", path);
	in = open(path, O_RDWR | O_CLOEXEC);
	out = open(old, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (in >= 0 && out >= 0) {
		/* the newest APP_LOG_CAP bytes become log.1 */
		if (lseek(in, st.st_size - APP_LOG_CAP, SEEK_SET) < 0)
			daemon_log("-", "error: seek %s: %s", path, strerror(errno));
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)n) != n)
				break;
		if (ftruncate(in, 0) < 0)
			daemon_log("-", "error: truncate %s: %s", path, strerror(errno));
	}
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
}

static void cap_logs(struct daemon *d)
{
	char path[PATH_MAX];

	pthread_mutex_lock(&d->lock);
	for (struct app *a = d->apps; a; a = a->next) {
		app_path(d, a->spec.name, "log", path, sizeof(path));
		cap_log(path);
	}
	snprintf(path, sizeof(path), "%s/holder.log", d->dir);
	cap_log(path);
	pthread_mutex_unlock(&d->lock);
}

static void drain_wake(int fd)
{
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

#define PRESSURE_SLEEPS 8          /* apps put to sleep per second at most */

/* The asleep tier's due work (asleep.c decides, this spawns): apps with
 * a held packet revived, napping apps past their sleep time put to sleep,
 * and under memory pressure (checked when check_pressure) a few more. */
static void asleep_due(struct daemon *d, int check_pressure)
{
	int pressure = check_pressure && asleep_pressure(), sent = 0;

	for (struct app *a = d->apps; a; a = a->next)
		switch (asleep_want(d, a, pressure && sent < PRESSURE_SLEEPS)) {
		case ASLEEP_REVIVE:
			life_spawn(d, a, LIFE_SWAP_IN, "traffic");
			break;
		case ASLEEP_SLEEP:
			life_spawn(d, a, LIFE_SLEEP, "sleep");
			break;
		case ASLEEP_PRESSURE:
			sent++;
			life_spawn(d, a, LIFE_SLEEP, "pressure");
			break;
		case ASLEEP_NOTHING:
			break;
		}
}

void watch_loop(struct daemon *d)
{
	struct watch_set w = { 0 };
	int64_t last_sample = mono_ms();
	int timeout;

	while (!d->stop) {
		pthread_mutex_lock(&d->lock);
		int rc = build_set(d, &w, &timeout);
		pthread_mutex_unlock(&d->lock);
		if (rc < 0) {
			daemon_log("-", "error: %s", err_msg());
			timeout = LOOP_MAX_WAIT_MS;
			w.n = 0;
		}
		if (poll(w.pfd, w.n, timeout) < 0 && errno != EINTR)
			daemon_log("-", "error: poll: %s", strerror(errno));
		if (w.n && w.pfd[0].revents)
			drain_wake(d->wake[0]);
		pthread_mutex_lock(&d->lock);
		handle_ready(d, &w);
		due_timers(d);
		asleep_due(d, mono_ms() - last_sample >= SAMPLE_EVERY_MS);
		if (mono_ms() - last_sample >= SAMPLE_EVERY_MS) {
			holder_check(d);
			holder_retire(d);
			life_revive_lost(d);
		}
		pthread_mutex_unlock(&d->lock);
		if (mono_ms() - last_sample >= SAMPLE_EVERY_MS) {
			sample_round(d, mono_ms() - last_sample);
			cap_logs(d);
			/* the next revival's engine child, forked ahead (at
			 * most one fork a second: not while revivals follow
			 * each other) */
			child_spare_keep();
			last_sample = mono_ms();
		}
	}
	free(w.pfd);
	free(w.app);
	free(w.kind);
}

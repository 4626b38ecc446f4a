/*
 * proc_fd.c - open file descriptors (/proc/PID/fd + fdinfo: the raw
 * facts; dump_files.c makes files of them) and POSIX timers
 * (/proc/PID/timers) of a process (proc_read_fds, proc_read_timers; see
 * proc.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/proc.h"

#define MAX_TIMERS 65536

/* ---- file descriptors ---- */

struct fd_list {
	struct proc_fd *v;
	uint32_t n, cap;
};

static int cmp_fd(const void *a, const void *b)
{
	const struct proc_fd *x = a, *y = b;

	return (x->fd > y->fd) - (x->fd < y->fd);
}

/* pos: and flags: from /proc/PID/fdinfo/FD; the whole text is kept. */
static int read_fdinfo(pid_t pid, int fd, struct proc_fd *f)
{
	char path[64], *buf, *cur, *line, *copy;
	uint64_t pos = 0, flags = 0;
	int have = 0, bad = 0;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	if (proc_slurp(pid, path, &buf, &len) < 0)
		return -1;
	copy = strdup(buf);
	if (!copy) {
		free(buf);
		return err_set("pid %d: out of memory", pid);
	}
	cur = buf;
	while ((line = proc_next_line(&cur))) {
		if (!strncmp(line, "pos:\t", 5)) {
			bad |= proc_parse_u64(line + 5, 10, &pos, NULL);
			have |= 1;
		} else if (!strncmp(line, "flags:\t", 7)) {
			bad |= proc_parse_u64(line + 7, 8, &flags, NULL);
			have |= 2;
		}
	}
	free(buf);
	f->fdinfo = copy;
	if (bad || have != 3 || flags > UINT32_MAX)
		return err_set("pid %d: %s: missing or bad pos/flags", pid, path);
	f->pos = pos;
	f->cloexec = !!(flags & O_CLOEXEC);
	f->flags = (uint32_t)(flags & ~(uint64_t)O_CLOEXEC);
	return 0;
}

static int fd_list_push(pid_t pid, struct fd_list *l, struct proc_fd **out)
{
	struct proc_fd *nv;

	if (l->n == l->cap) {
		if (l->cap >= (1u << 24))
			return err_set("pid %d: too many fds", pid);
		l->cap = l->cap ? l->cap * 2 : 32;
		nv = realloc(l->v, l->cap * sizeof(*nv));
		if (!nv)
			return err_set("pid %d: out of memory", pid);
		l->v = nv;
	}
	*out = &l->v[l->n++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

/* An fd closed meanwhile (ENOENT) is skipped: the tree is stopped, so
 * only a racing reader outside could see that. */
static int read_one_fd(pid_t pid, int fd, int with_info, struct fd_list *l)
{
	char path[64];
	struct proc_fd *f = NULL;

	if (fd_list_push(pid, l, &f) < 0)
		return -1;
	f->fd = fd;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	if (proc_readlink(pid, path, &f->link) < 0)
		return err_wrap("pid %d fd %d", pid, fd);
	if (with_info && read_fdinfo(pid, fd, f) < 0)
		return err_wrap("pid %d fd %d", pid, fd);
	return 0;
}

static int read_fds(pid_t host_pid, int with_info, struct proc_fd **fds, uint32_t *n)
{
	struct fd_list l = { 0 };
	char path[64];
	struct dirent *de;
	uint64_t x;
	DIR *d;

	*fds = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "/proc/%d/fd", host_pid);
	d = opendir(path);
	if (!d)
		return err_sys("pid %d: opendir %s", host_pid, path);
	while ((errno = 0, de = readdir(d))) {
		if (proc_parse_u64(de->d_name, 10, &x, NULL) < 0 || x > INT_MAX)
			continue;
		if (read_one_fd(host_pid, (int)x, with_info, &l) < 0)
			goto fail;
	}
	if (errno) {
		err_sys("pid %d: readdir %s", host_pid, path);
		goto fail;
	}
	closedir(d);
	qsort(l.v, l.n, sizeof(*l.v), cmp_fd);
	*fds = l.v;
	*n = l.n;
	return 0;
fail:
	closedir(d);
	proc_free_fds(l.v, l.n);
	return -1;
}

int proc_read_fds(pid_t host_pid, struct proc_fd **fds, uint32_t *n)
{
	return read_fds(host_pid, 1, fds, n);
}

int proc_read_fd_links(pid_t host_pid, struct proc_fd **fds, uint32_t *n)
{
	return read_fds(host_pid, 0, fds, n);
}

void proc_free_fds(struct proc_fd *f, uint32_t n)
{
	if (!f)
		return;
	for (uint32_t i = 0; i < n; i++) {
		free(f[i].link);
		free(f[i].fdinfo);
	}
	free(f);
}

/* ---- POSIX timers ---- */

#define TM_ID     1
#define TM_SIGNAL 2
#define TM_NOTIFY 4
#define TM_CLOCK  8
#define TM_ALL    15

struct timer_list {
	struct cr_posix_timer *v;
	uint32_t n, cap;
	unsigned have;                 /* TM_* seen for v[n-1] */
};

static int cmp_timer(const void *a, const void *b)
{
	const struct cr_posix_timer *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

static int parse_int32(const char *s, int32_t *out)
{
	int64_t x;

	if (proc_parse_i64(s, &x, NULL) < 0 || x < INT32_MIN || x > INT32_MAX)
		return -1;
	*out = (int32_t)x;
	return 0;
}

/* "signal: SIGNO/SIGVAL-HEX" */
static int parse_timer_signal(char *v, struct cr_posix_timer *t)
{
	char *slash = strchr(v, '/');

	if (!slash)
		return -1;
	*slash = '\0';
	return parse_int32(v, &t->signo) < 0 || proc_parse_u64(slash + 1, 16, &t->sigval, NULL) < 0
		? -1 : 0;
}

/* "notify: signal|none|thread/pid|tid.HOSTID"; -2: translation failed
 * (message set), -1: malformed. */
static int parse_timer_notify(char *v, struct cr_posix_timer *t)
{
	char *slash = strchr(v, '/');
	int thread;
	uint64_t id;
	pid_t ns;

	if (!slash)
		return -1;
	*slash = '\0';
	if (!strcmp(v, "signal"))
		t->notify = SIGEV_SIGNAL;
	else if (!strcmp(v, "none"))
		t->notify = SIGEV_NONE;
	else if (!strcmp(v, "thread"))
		t->notify = SIGEV_THREAD;
	else
		return -1;
	thread = !strncmp(slash + 1, "tid.", 4);
	if (!thread && strncmp(slash + 1, "pid.", 4))
		return -1;
	if (proc_parse_u64(slash + 5, 10, &id, NULL) < 0 || id > INT_MAX)
		return -1;
	if (!thread)
		return 0;
	t->notify |= SIGEV_THREAD_ID;
	if (proc_ns_pid((pid_t)id, &ns) < 0)
		return -2;
	t->notify_tid = ns;
	return 0;
}

static int timer_new(struct timer_list *l)
{
	struct cr_posix_timer *nv;

	if (l->n && l->have != TM_ALL)
		return -1;
	if (l->n == MAX_TIMERS)
		return -1;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		nv = realloc(l->v, l->cap * sizeof(*nv));
		if (!nv)
			return -1;
		l->v = nv;
	}
	memset(&l->v[l->n++], 0, sizeof(*nv));
	l->have = 0;
	return 0;
}

/* One "Key: value" line; -1 malformed, -2 error with message set. */
static int timer_line(struct timer_list *l, char *key, char *v)
{
	struct cr_posix_timer *t;

	while (*v == ' ')
		v++;
	if (!strcmp(key, "ID") && timer_new(l) < 0)
		return -1;
	if (!l->n)
		return -1;
	t = &l->v[l->n - 1];
	if (!strcmp(key, "ID")) {
		l->have |= TM_ID;
		return parse_int32(v, &t->id);
	} else if (!strcmp(key, "signal")) {
		l->have |= TM_SIGNAL;
		return parse_timer_signal(v, t);
	} else if (!strcmp(key, "notify")) {
		l->have |= TM_NOTIFY;
		return parse_timer_notify(v, t);
	} else if (!strcmp(key, "ClockID")) {
		l->have |= TM_CLOCK;
		return parse_int32(v, &t->clock);
	}
	return 0;
}

int proc_read_timers(pid_t host_pid, struct cr_posix_timer **timers, uint32_t *n)
{
	struct timer_list l = { 0 };
	char path[64], *buf, *cur, *line, *colon;
	int lineno = 0, rc;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/timers", host_pid);
	if (proc_slurp(host_pid, path, &buf, &len) < 0)
		return -1;
	cur = buf;
	while ((line = proc_next_line(&cur))) {
		lineno++;
		colon = strchr(line, ':');
		if (colon)
			*colon = '\0';
		rc = colon ? timer_line(&l, line, colon + 1) : -1;
		if (rc == -2) {
			err_wrap("pid %d: %s line %d", host_pid, path, lineno);
			goto fail;
		}
		if (rc < 0) {
			err_set("pid %d: %s line %d: malformed", host_pid, path, lineno);
			goto fail;
		}
	}
	if (l.n && l.have != TM_ALL) {
		err_set("pid %d: %s: last timer incomplete", host_pid, path);
		goto fail;
	}
	free(buf);
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), cmp_timer);
	*timers = l.v;
	*n = l.n;
	return 0;
fail:
	free(buf);
	free(l.v);
	return -1;
}

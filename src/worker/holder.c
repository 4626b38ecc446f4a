/* holder.c - the daemon's one custody holder process (see holder.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "worker/child.h"
#include "worker/daemon.h"
#include "worker/holder.h"

#define START_WAIT_MS 5000

void holder_paths(const struct daemon *d, char *sock, size_t slen, char *log, size_t llen)
{
	snprintf(sock, slen, "%s/hold.sock", d->dir);
	if (log)
		snprintf(log, llen, "%s/holder.log", d->dir);
}

int holder_find(const char *path, pid_t *pid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int s, ok;

	*pid = 0;
	if (strlen(path) >= sizeof(sa.sun_path))
		return 0;
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 0;
	ok = connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	     getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0;
	if (ok)
		*pid = cred.pid;
	close(s);
	return ok;
}

/* 1 if pid is a holder serving path (from its command line, no connection). */
static int holder_running(pid_t pid, const char *path)
{
	char proc[64], buf[PATH_MAX + 64];
	ssize_t n;

	if (pid <= 0)
		return 0;
	snprintf(proc, sizeof(proc), "/proc/%d/cmdline", (int)pid);
	n = read_small(proc, buf, sizeof(buf));
	if (n <= 0)
		return 0;
	/* "picocenter\0cr\0hold\0PATH\0" */
	return !strcmp(buf, "picocenter") && n > 19 && !memcmp(buf + 11, "cr\0hold\0", 8) &&
	       !strcmp(buf + 19, path);
}

struct start_args {
	const char *path, *log;
};

/* In an engine child: fork the holder (so that it is nobody's child in
 * the daemon) and exec `picocenter cr hold path` from the daemon's own
 * binary: /proc/self/exe still runs it when the file was replaced since
 * (an upgrade, a rebuild), so the holder always speaks the daemon's
 * protocol, and a path would name the new file or nothing. */
static int start_in_child(void *arg, void *out)
{
	struct start_args *a = arg;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return err_sys("fork holder");
	if (pid == 0) {
		int fd = open(a->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int nul = open("/dev/null", O_RDWR);

		setsid();
		if (fd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl("/proc/self/exe", "picocenter", "cr", "hold", a->path, (char *)NULL);
		_exit(127);
	}
	memcpy(out, &pid, sizeof(pid));
	return 0;
}

static int start_holder(const char *path, const char *log, pid_t *pid)
{
	struct start_args a = { path, log };
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	pid_t found;

	*pid = 0;
	if (child_run(start_in_child, &a, pid, sizeof(*pid), NULL, NULL) < 0)
		return err_wrap("start holder %s", path);
	for (int i = 0; i < START_WAIT_MS / 5; i++) {
		if (holder_find(path, &found) && found == *pid)
			return 0;
		if (kill(*pid, 0) < 0 && errno == ESRCH)
			break;
		nanosleep(&ts, NULL);
	}
	if (holder_running(*pid, path))
		kill(*pid, SIGTERM);
	return err_set("holder %s did not start (see %s)", path, log);
}

int holder_ensure(struct daemon *d)
{
	char path[PATH_MAX], log[PATH_MAX];
	pid_t pid = 0;
	int rc = 0;

	holder_paths(d, path, sizeof(path), log, sizeof(log));
	if (holder_running(d->holder_pid, path))
		return 0;
	pthread_mutex_unlock(&d->lock);
	pthread_mutex_lock(&d->holder_mu);     /* one start at a time */
	if (!holder_find(path, &pid))
		rc = start_holder(path, log, &pid);
	pthread_mutex_unlock(&d->holder_mu);
	pthread_mutex_lock(&d->lock);
	if (rc == 0)
		d->holder_pid = pid;
	return rc;
}

void holder_recover(struct daemon *d)
{
	char path[PATH_MAX];
	pid_t pid;

	holder_paths(d, path, sizeof(path), NULL, 0);
	d->holder_pid = holder_find(path, &pid) ? pid : 0;
}

/* A running app will want it at its next swap-out: the holder is not
 * stopped and started again between an app's swaps. */
static int needs_holder(const struct app *a)
{
	return a->busy || a->state == APP_NAPPING || a->state == APP_RUNNING ||
	       (a->state == APP_FAILED && a->tag[0]);
}

void holder_retire(struct daemon *d)
{
	char path[PATH_MAX];

	if (!d->holder_pid)
		return;
	for (struct app *a = d->apps; a; a = a->next)
		if (needs_holder(a))
			return;
	holder_paths(d, path, sizeof(path), NULL, 0);
	/* refused while it serves a request: asked again on the next round */
	if (custody_stop(path) == 0 || !holder_running(d->holder_pid, path)) {
		d->holder_pid = 0;
		daemon_log("-", "holder stopped: no app needs it");
	}
	err_clear();
}

int holder_adopt(struct daemon *d, struct app *a)
{
	char old[PATH_MAX], path[PATH_MAX];
	struct custody_item *items;
	size_t n;
	pid_t pid;
	int conn, rc;

	app_path(d, a->spec.name, "hold.sock", old, sizeof(old));
	if (!a->tag[0] || !holder_find(old, &pid))
		return 0;
	if (custody_get(old, a->tag, &items, &n, &conn) < 0)
		return err_wrap("its own holder");
	rc = holder_ensure(d);
	holder_paths(d, path, sizeof(path), NULL, 0);
	if (rc == 0)
		rc = custody_put(path, a->tag, items, n);
	custody_done(conn, rc == 0);        /* the old one keeps them on failure */
	custody_free(items, n);
	if (rc < 0)
		return err_wrap("move its sockets to the daemon's holder");
	if (holder_running(pid, old))
		kill(pid, SIGTERM);
	daemon_log(a->spec.name, "its sockets moved from its own holder to the daemon's");
	return 0;
}

/* The daemon's copies of a's sockets to the holder at path. */
static void rehome(const char *path, struct app *a)
{
	if (a->busy || a->state != APP_NAPPING || !a->tag[0] || !a->nr_held)
		return;
	if (custody_put(path, a->tag, a->held, a->nr_held) < 0)
		daemon_log(a->spec.name, "error: its sockets to the new holder: %s", err_msg());
	else
		daemon_log(a->spec.name, "its sockets went to the new holder");
}

static int any_napping(const struct daemon *d)
{
	for (const struct app *a = d->apps; a; a = a->next)
		if (a->state == APP_NAPPING && a->tag[0])
			return 1;
	return 0;
}

void holder_check(struct daemon *d)
{
	char path[PATH_MAX];
	pid_t gone = d->holder_pid;

	holder_paths(d, path, sizeof(path), NULL, 0);
	if (!gone || holder_running(gone, path))
		return;
	d->holder_pid = 0;
	daemon_log("-", "error: the holder (pid %d) is gone; a new one takes the sockets", (int)gone);
	if (!any_napping(d))
		return;
	if (holder_ensure(d) < 0) {
		daemon_log("-", "error: %s", err_msg());
		return;
	}
	for (struct app *a = d->apps; a; a = a->next)
		rehome(path, a);
}

void holder_stop_own(struct daemon *d, struct app *a)
{
	char old[PATH_MAX];
	pid_t pid;

	app_path(d, a->spec.name, "hold.sock", old, sizeof(old));
	if (access(old, F_OK) == 0 && holder_find(old, &pid) && holder_running(pid, old)) {
		kill(pid, SIGTERM);
		daemon_log(a->spec.name, "stopped the holder of its own an earlier daemon left");
	}
}

void holder_drop(struct daemon *d, struct app *a)
{
	char path[PATH_MAX];

	if (!a->tag[0] || !d->holder_pid)
		return;
	holder_paths(d, path, sizeof(path), NULL, 0);
	if (custody_drop(path, a->tag) < 0)
		daemon_log(a->spec.name, "error: dropping its held sockets: %s", err_msg());
	a->tag[0] = '\0';
}

int holder_watch(const char *path, const char *tag, struct custody_item **items, size_t *n)
{
	int conn;

	if (custody_get(path, tag, items, n, &conn) < 0)
		return err_wrap("watch held sockets");
	custody_done(conn, 0);      /* the holder keeps them */
	return 0;
}

/* holder.c - per-app custody holder processes (see holder.h). */
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
#include "worker/holder.h"

int holder_alive(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s, ok;

	if (strlen(path) >= sizeof(sa.sun_path))
		return 0;
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 0;
	ok = connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(s);
	return ok;
}

struct start_args {
	const char *path, *log;
};

/* In an engine child: fork the holder (so that it is nobody's child in
 * the daemon) and exec `picocenter cr hold path`. */
static int start_in_child(void *arg, void *out)
{
	struct start_args *a = arg;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	pid_t pid;

	if (n <= 0)
		return err_sys("readlink /proc/self/exe");
	exe[n] = '\0';
	pid = fork();
	if (pid < 0)
		return err_sys("fork holder");
	if (pid == 0) {
		int fd = open(a->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int nul = open("/dev/null", O_RDWR);

		setsid();
		if (fd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl(exe, "picocenter", "cr", "hold", a->path, (char *)NULL);
		_exit(127);
	}
	memcpy(out, &pid, sizeof(pid));
	return 0;
}

int holder_start(const char *path, const char *log, pid_t *pid)
{
	struct start_args a = { path, log };
	struct timespec ts = { 0, 5 * 1000 * 1000 };

	*pid = 0;
	if (child_run(start_in_child, &a, pid, sizeof(*pid), NULL, NULL) < 0)
		return err_wrap("start holder %s", path);
	for (int i = 0; i < 1000; i++) {
		if (holder_alive(path))
			return 0;
		if (kill(*pid, 0) < 0 && errno == ESRCH)
			break;
		nanosleep(&ts, NULL);
	}
	holder_stop(*pid, path);
	return err_set("holder %s did not start (see %s)", path, log);
}

int holder_running(pid_t pid, const char *path)
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

void holder_stop(pid_t pid, const char *path)
{
	if (pid > 0 && holder_running(pid, path))
		kill(pid, SIGTERM);
}

int holder_watch(const char *path, const char *tag, struct custody_item **items, size_t *n)
{
	int conn;

	if (custody_get(path, tag, items, n, &conn) < 0)
		return err_wrap("watch held sockets");
	custody_done(conn, 0);      /* the holder keeps them */
	return 0;
}

/* event_log.c - event lines and state directory locks (see event_log.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/event_log.h"

void event_vlog(const char *who, const char *fmt, va_list ap)
{
	char line[2048], when[32];
	struct timespec ts;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ldZ %s: ", when, ts.tv_nsec / 1000000, who);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		n = 0;
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	for (char *p = line + n; *p; p++)    /* one event, one line */
		if (*p == '\n')
			*p = ' ';
	strcat(line, "\n");
	if (write(STDERR_FILENO, line, strlen(line)) < 0)
		return;
}

int state_dir_lock(const char *dir, const char *file, const char *daemon, int *fd)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0)
		return err_sys("open %s", path);
	if (flock(*fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? err_set("another %s uses %s", daemon, dir)
					    : err_sys("lock %s", path);
	return 0;
}

int stop_signals_install(void (*on_stop)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		return err_sys("sigaction");
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

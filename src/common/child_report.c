/* child_report.c - a child's report to its parent through a pipe (see
 * child_report.h). */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/child_report.h"
#include "common/err.h"

static void close_end(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int child_report_open(struct child_report *r, const char *what)
{
	int pfd[2];

	r->rd = r->wr = -1;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_sys("%s: pipe", what);
	r->rd = pfd[0];
	r->wr = pfd[1];
	return 0;
}

pid_t child_report_fork(struct child_report *r, const char *what)
{
	pid_t pid;

	if (child_report_open(r, what) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		child_report_close(r);
		return err_sys("%s: fork", what);
	}
	if (pid == 0)
		child_report_child(r);
	return pid;
}

void child_report_child(struct child_report *r)
{
	close_end(&r->rd);
}

void child_report_close(struct child_report *r)
{
	close_end(&r->rd);
	close_end(&r->wr);
}

size_t child_report_read(struct child_report *r, void *buf, size_t len)
{
	size_t got = 0;

	close_end(&r->wr);
	while (got < len) {
		ssize_t n = read(r->rd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close_end(&r->rd);
	return got;
}

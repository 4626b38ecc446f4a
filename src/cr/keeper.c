/* keeper.c - parent process of a tree's init (see keeper.h). */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/child_report.h"
#include "common/err.h"
#include "common/io.h"
#include "cr/keeper.h"

struct keeper_report {
	int rc;
	pid_t pid;
	char msg[2048];
	char note[KEEPER_NOTE_MAX];
};

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

/* The keeper can live long: it must not hold the caller's files open (a
 * pipe or FIFO of the caller would never see its end).  All but stdio and
 * the report pipe go. */
static void close_inherited(int keep)
{
	if (keep > 3)
		close_range(3, (unsigned)keep - 1, 0);
	close_range((unsigned)keep + 1, ~0u, 0);
}

static void keeper_main(int (*start)(void *, pid_t *, struct keeper_after *), void *arg,
			int fd)
{
	struct keeper_after after;
	struct keeper_report rep;
	int st;

	close_inherited(fd);
	memset(&rep, 0, sizeof(rep));
	memset(&after, 0, sizeof(after));
	setsid();
	rep.rc = start(arg, &rep.pid, &after);
	if (rep.rc < 0)
		strncpy(rep.msg, err_msg(), sizeof(rep.msg) - 1);
	else
		memcpy(rep.note, after.note, sizeof(rep.note) - 1);
	/* Let go of the caller's streams before reporting: a $(picocenter ...)
	 * must not wait for the tree's lifetime, nor for the keeper to be
	 * scheduled again after the report. */
	if (rep.rc == 0)
		detach_stdio();
	write_full(fd, &rep, sizeof(rep), -1);
	close(fd);
	if (rep.rc < 0)
		_exit(1);
	if (after.fn)
		after.fn(after.arg);
	/* The keeper lives as long as the tree: give back what the start
	 * freed (a restore's image structures). */
	malloc_trim(0);
	while (waitpid(-1, &st, 0) > 0 || errno == EINTR)
		;
	_exit(0);
}

int keeper_run(int (*start)(void *arg, pid_t *pid, struct keeper_after *after), void *arg,
	       pid_t *pid)
{
	char note[KEEPER_NOTE_MAX];

	return keeper_run_note(start, arg, pid, note);
}

int keeper_run_note(int (*start)(void *arg, pid_t *pid, struct keeper_after *after),
		    void *arg, pid_t *pid, char note[KEEPER_NOTE_MAX])
{
	struct keeper_report rep;
	struct child_report r;
	size_t got;
	pid_t k;

	k = child_report_fork(&r, "keeper");
	if (k < 0)
		return -1;
	if (k == 0)
		keeper_main(start, arg, r.wr);
	got = child_report_read(&r, &rep, sizeof(rep));
	if (got != sizeof(rep)) {
		waitpid(k, NULL, 0);
		return err_set("keeper process died before reporting");
	}
	if (rep.rc < 0) {
		waitpid(k, NULL, 0);
		rep.msg[sizeof(rep.msg) - 1] = '\0';
		return err_set("%s", rep.msg);
	}
	*pid = rep.pid;
	memcpy(note, rep.note, KEEPER_NOTE_MAX);
	note[KEEPER_NOTE_MAX - 1] = '\0';
	return 0;
}

/*
 * clone.c - the clone of a tree's first process into its box: an
 * intermediate process joins the box's cgroups and namespaces, the user
 * namespace last, and clones the tree's init (CLONE_PARENT: the caller's
 * child) into new pid, mount and cgroup namespaces, which that user
 * namespace then owns.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>

#include "box/box_int.h"
#include "common/err.h"

struct clone_fds {
	int ns[4];        /* user, net, uts, ipc */
	int procs[4];     /* cgroup.procs of the cgroups to join, -1 none */
	int cg;           /* the v2 cgroup for CLONE_INTO_CGROUP, or -1 */
	int pipe[2];
};

static void close_fds(struct clone_fds *f)
{
	for (int i = 0; i < 4; i++) {
		if (f->ns[i] >= 0)
			close(f->ns[i]);
		if (f->procs[i] >= 0)
			close(f->procs[i]);
	}
	for (int i = 0; i < 2; i++)
		if (f->pipe[i] >= 0)
			close(f->pipe[i]);
	if (f->cg >= 0)
		close(f->cg);
}

static int open_procs(const char *dir, int *fd)
{
	char path[BOX_PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	*fd = open(path, O_WRONLY | O_CLOEXEC);
	if (*fd < 0)
		return err_sys("open %s", path);
	return 0;
}

/* Everything the intermediate process needs, opened here: it only makes
 * system calls (it is forked from a process that may have threads). */
static int open_fds(const struct box *b, int ipc_fd, struct clone_fds *f)
{
	static const char *const kinds[4] = { "user", "net", "uts", "ipc" };
	const char *v1[3] = { b->cg.memory_v2 ? "" : b->cg.memory, b->cg.pids_v2 ? "" : b->cg.pids,
			      b->cg.freezer_v2 ? "" : b->cg.freezer };
	int n = 0;

	memset(f, -1, sizeof(*f));
	for (int i = 0; i < 4; i++) {
		if (i == 3 && ipc_fd >= 0) {
			f->ns[i] = fcntl(ipc_fd, F_DUPFD_CLOEXEC, 0);
			if (f->ns[i] < 0)
				return err_sys("dup the IPC namespace fd");
		} else if ((f->ns[i] = box_ns_open(b, kinds[i])) < 0) {
			return -1;
		}
	}
	for (int i = 0; i < 3; i++)
		if (v1[i][0] && open_procs(v1[i], &f->procs[n++]) < 0)
			return -1;
	if (b->cg.cpu[0] && !b->cg.cpu_v2 && open_procs(b->cg.cpu, &f->procs[n++]) < 0)
		return -1;
	f->cg = box_cgroup_fd(b);
	if (b->cg.unified[0] && f->cg < 0)
		return err_sys("open %s", b->cg.unified);
	if (pipe2(f->pipe, O_CLOEXEC) < 0)
		return err_sys("pipe");
	return 0;
}

struct clone_result {
	pid_t pid;
	char msg[480];
};

static pid_t clone3_with(uint64_t flags, int cgfd)
{
	struct clone_args args;

	memset(&args, 0, sizeof(args));
	args.flags = flags;
	if (!(flags & CLONE_PARENT))
		args.exit_signal = SIGCHLD;
	if (cgfd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgfd;
	}
	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

/* The intermediate: into the box, then the init out of it; never returns
 * but in the init. */
static pid_t intermediate(struct clone_fds *f)
{
	static const int types[4] = { CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWUTS, CLONE_NEWIPC };
	struct clone_result r = { 0, "" };
	pid_t init;

	for (int i = 0; i < 4 && f->procs[i] >= 0; i++)
		if (write(f->procs[i], "0", 1) != 1) {
			err_sys("join the box's cgroup");
			goto out;
		}
	for (int i = 1; i <= 4; i++)   /* the user namespace last */
		if (setns(f->ns[i % 4], types[i % 4]) < 0) {
			err_sys("enter the box's %s namespace", i == 4 ? "user" : i == 1 ? "net" :
				i == 2 ? "uts" : "ipc");
			goto out;
		}
	init = clone3_with(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_PARENT, -1);
	if (init == 0) {
		close_fds(f);
		return 0;
	}
	if (init < 0)
		err_sys("clone the box's init (new pid, mount, cgroup namespaces)");
	r.pid = init;
out:
	if (r.pid <= 0)
		snprintf(r.msg, sizeof(r.msg), "%s", err_msg());
	if (write(f->pipe[1], &r, sizeof(r)) < 0)
		_exit(2);
	_exit(0);
}

pid_t box_clone(const struct box *b, int ipc_fd)
{
	struct clone_result r;
	struct clone_fds f;
	pid_t mid;
	ssize_t n;

	if (open_fds(b, ipc_fd, &f) < 0) {
		close_fds(&f);
		return err_wrap("box %s", b->cfg.name);
	}
	mid = clone3_with(0, f.cg);
	if (mid == 0)
		return intermediate(&f);
	if (mid < 0) {
		close_fds(&f);
		return err_sys("box %s: clone into its cgroup", b->cfg.name);
	}
	close(f.pipe[1]);
	f.pipe[1] = -1;
	n = read(f.pipe[0], &r, sizeof(r));
	while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
		;
	close_fds(&f);
	if (n != (ssize_t)sizeof(r))
		return err_set("box %s: the process cloning its init died", b->cfg.name);
	if (r.pid <= 0)
		return err_set("box %s: %s", b->cfg.name, r.msg);
	return r.pid;
}

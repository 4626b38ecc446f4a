/*
 * userns.c - a box's user namespace: its id maps (the box's 0..uids-1 to
 * the host ids of its range), the idmapped lower layer of its root, the
 * ownership of what the box must own (its upper layer), and the clone of
 * a tree's first process into the box: an intermediate process joins the
 * box's cgroups and namespaces, the user namespace last, and clones the
 * tree's init (CLONE_PARENT: the caller's child) into new pid, mount and
 * cgroup namespaces, which that user namespace then owns.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>

#include "box/box_int.h"
#include "common/err.h"

static int write_map(pid_t pid, const char *file, const char *map)
{
	char path[64];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys("open %s", path);
	n = write(fd, map, strlen(map));
	close(fd);
	if (n != (ssize_t)strlen(map))
		return err_sys("write %s", path);
	return 0;
}

int userns_write_maps(const struct box *b, pid_t pid)
{
	char map[64];

	snprintf(map, sizeof(map), "0 %" PRIu32 " %" PRIu32 "\n", b->uid_base, b->cfg.uids);
	if (write_map(pid, "uid_map", map) < 0 || write_map(pid, "gid_map", map) < 0)
		return err_wrap("user namespace of box %s", b->cfg.name);
	return 0;
}

static int open_ns(const struct box *b, const char *kind)
{
	char path[BOX_PATH_MAX + 16];
	int fd;

	snprintf(path, sizeof(path), "%s/ns/%s", b->path, kind);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys("open %s", path);
	return fd;
}

int box_userns_fd(const struct box *b)
{
	return open_ns(b, "user");
}

int userns_idmapped_tree(const struct box *b, const char *path, const char *at)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP };
	int tree, ns, rc = 0;

	ns = open_ns(b, "user");
	if (ns < 0)
		return -1;
	tree = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0) {
		close(ns);
		return err_sys("open_tree %s", path);
	}
	attr.userns_fd = (uint64_t)ns;
	if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		rc = err_sys("idmap %s to box %s's ids", path, b->cfg.name);
	else if (move_mount(tree, "", AT_FDCWD, at, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		rc = err_sys("mount the idmapped %s on %s", path, at);
	close(tree);
	close(ns);
	return rc;
}

int userns_own(const struct box *b, const char *path)
{
	if (chown(path, b->uid_base, b->uid_base) < 0)
		return err_sys("chown %s to the box's root", path);
	return 0;
}

/* --- box_clone --- */

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
		} else if ((f->ns[i] = open_ns(b, kinds[i])) < 0) {
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

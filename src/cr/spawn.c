/*
 * spawn.c - start a command as pid 1 of fresh PID, mount and IPC namespaces,
 * the shape of tree that cr_dump() checkpoints.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>
#include <linux/sched.h>

#include "box/box.h"
#include "common/child_report.h"
#include "common/err.h"
#include "cr/cr.h"
#include "cr/keeper.h"
#include "cr/nsinit.h"

/* A box's process starts with a clean environment. */
static int box_environment(void)
{
	if (clearenv() != 0 ||
	    setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1) < 0)
		return err_sys("environment");
	return 0;
}

/* The box, environment, working directory and user of the command. */
static int apply_opts(const struct cr_spawn_opts *o)
{
	if (o->box && (box_enter(o->box) < 0 || box_environment() < 0))
		return -1;
	for (char *const *e = o->env; e && *e; e++)
		if (putenv(*e) != 0)
			return err_sys("environment %s", *e);
	if (o->workdir && chdir(o->workdir) < 0)
		return err_sys("workdir %s", o->workdir);
	if (o->box && box_drop_capabilities() < 0)
		return err_wrap("box %s", o->box->cfg.name);
	if (o->set_user && (setgroups(0, NULL) < 0 || setgid(o->gid) < 0 || setuid(o->uid) < 0))
		return err_sys("user %u:%u", (unsigned)o->uid, (unsigned)o->gid);
	if (o->box && box_lockdown() < 0)
		return err_wrap("box %s", o->box->cfg.name);
	return 0;
}

/* In the child: private mounts, a /proc of the new namespace (or the
 * box's root), stdio. */
static void spawn_child(char *const argv[], const struct cr_spawn_opts *o, int errfd)
{
	const char *log = o->log;
	int fd;

	if (!o->box && ns_setup_mounts() < 0)
		goto fail;
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, 0) < 0) {
		err_sys("open /dev/null");
		goto fail;
	}
	close(fd);
	fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0) {
		err_sys("open log %s", log ? log : "/dev/null");
		goto fail;
	}
	if (dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
		err_sys("dup2 log");
		goto fail;
	}
	if (fd > 2)
		close(fd);
	/* Nothing of the caller's leaks into the tree but the error pipe,
	 * which closes on exec. */
	if (errfd != 3 && dup3(errfd, 3, O_CLOEXEC) < 0) {
		err_sys("move error pipe");
		goto fail;
	}
	errfd = 3;
	if (close_range(4, ~0u, 0) < 0) {
		err_sys("close inherited fds");
		goto fail;
	}
	if (apply_opts(o) < 0)
		goto fail;
	if (setsid() < 0) {
		err_sys("setsid");
		goto fail;
	}
	execvp(argv[0], argv);
	err_sys("exec %s", argv[0]);
fail:
	if (write(errfd, err_msg(), strlen(err_msg())) < 0)
		_exit(127);
	_exit(127);
}

struct spawn_args {
	char *const *argv;
	const struct cr_spawn_opts *opts;
};

static int spawn_start(void *arg, pid_t *pid, struct keeper_after *after)
{
	struct spawn_args *a = arg;
	struct clone_args args = { 0 };
	struct child_report r;
	char msg[1024];
	size_t n;
	pid_t child;

	(void)after;   /* nothing to do once the command runs */
	if (child_report_open(&r, "spawn") < 0)
		return -1;
	if (a->opts->box) {
		child = box_clone(a->opts->box, -1);
	} else {
		args.flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC;
		args.exit_signal = SIGCHLD;  /* the keeper reaps it */
		child = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	}
	if (child < 0) {
		child_report_close(&r);
		return a->opts->box ? err_wrap("spawn")
				    : err_sys("spawn: clone3 (new pid, mount and IPC namespaces)");
	}
	if (child == 0) {
		child_report_child(&r);
		spawn_child(a->argv, a->opts, r.wr);
	}
	/* The exec closes the pipe; a message means the child failed. */
	n = child_report_read(&r, msg, sizeof(msg) - 1);
	if (n > 0) {
		msg[n] = '\0';
		waitpid(child, NULL, 0);
		return err_set("spawn %s: %s", a->argv[0], msg);
	}
	*pid = child;
	return 0;
}

int cr_spawn(char *const argv[], const struct cr_spawn_opts *opts, pid_t *pid)
{
	static const struct cr_spawn_opts none;
	struct spawn_args a = { argv, opts ? opts : &none };

	return keeper_run(spawn_start, &a, pid);
}

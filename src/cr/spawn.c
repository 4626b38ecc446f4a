/*
 * spawn.c - start a command as pid 1 of fresh PID, mount and IPC namespaces,
 * the shape of tree that cr_dump() checkpoints; or, with an init, start
 * picocenter-init as pid 1 with the command as its child.
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
#include "common/init_path.h"
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

#define INIT_ARGS 4
#define SPAWN_ARGS_MAX 1024

/* The command, or init's: its path and flags, then the command.  The
 * error pipe (fd 3) stays open across init's exec: init reports a
 * command that cannot be executed there. */
static void exec_command(char *const argv[], const char *init)
{
	static char *iargv[INIT_ARGS + SPAWN_ARGS_MAX + 1];
	size_t n = 0;

	if (!init) {
		execvp(argv[0], argv);
		err_sys("exec %s", argv[0]);
		return;
	}
	while (argv[n] && n < SPAWN_ARGS_MAX)
		n++;
	if (argv[n]) {
		err_set("exec %s: more than %d arguments", argv[0], SPAWN_ARGS_MAX);
		return;
	}
	iargv[0] = (char *)init;
	iargv[1] = "--report-fd";
	iargv[2] = "3";
	iargv[3] = "--";
	memcpy(iargv + INIT_ARGS, argv, (n + 1) * sizeof(*argv));
	if (fcntl(3, F_SETFD, 0) < 0) {
		err_sys("keep the error pipe for the init");
		return;
	}
	execv(init, iargv);
	err_sys("exec the init %s", init);
}

/* In the child: private mounts, a /proc of the new namespace (or the
 * box's root), stdio. */
static void spawn_child(char *const argv[], const struct cr_spawn_opts *o, const char *init,
			int errfd)
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
	exec_command(argv, init);
fail:
	if (write(errfd, err_msg(), strlen(err_msg())) < 0)
		_exit(127);
	_exit(127);
}

struct spawn_args {
	char *const *argv;
	const struct cr_spawn_opts *opts;
	const char *init;         /* the init's path as the tree sees it, or NULL */
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
		spawn_child(a->argv, a->opts, a->init, r.wr);
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

/* Where the tree finds the init: its copy in the box's BOXES/.init,
 * bound at BOX_INIT_DIR in a box made with it; on the host, the copy in
 * the default boxes dir's. */
static int init_of(const struct cr_spawn_opts *o, char *buf, size_t len)
{
	char dir[4000], name[64];

	if (o->box && !o->box->cfg.init)
		return err_set("box %s was made without the init", o->box->cfg.name);
	if (init_install(o->box ? o->box->cfg.dir : BOX_DEFAULT_DIR, dir, sizeof(dir), name,
			 sizeof(name)) < 0)
		return -1;
	snprintf(buf, len, "%s/%s", o->box ? BOX_INIT_DIR : dir, name);
	return 0;
}

int cr_spawn(char *const argv[], const struct cr_spawn_opts *opts, pid_t *pid)
{
	static const struct cr_spawn_opts none;
	static char init[4096 + 128];
	struct spawn_args a = { argv, opts ? opts : &none, NULL };

	if (a.opts->init) {
		if (init_of(a.opts, init, sizeof(init)) < 0)
			return err_wrap("spawn %s", argv[0]);
		a.init = init;
	}
	return keeper_run(spawn_start, &a, pid);
}

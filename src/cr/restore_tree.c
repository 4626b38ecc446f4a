/*
 * restore_tree.c - the code the restored processes run themselves before
 * the restorer takes them over: each process forks its children with
 * their old pids (clone3 set_tid), takes its session and process group,
 * opens its files at their old numbers and the service fds the restorer
 * needs, maps the scratch area, reports "ready" (its host pid travels in
 * SCM_CREDENTIALS) and waits to be seized.  A zombie exits at once with
 * its old status.  A process whose session's leader is gone (a daemon's
 * double fork) is forked by a helper that takes the session's id, calls
 * setsid() and exits: the process is then an orphan of the tree's first
 * process, in that session and group, as it was dumped.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "box/box.h"
#include "common/err.h"
#include "cr/nsinit.h"
#include "cr/file_tty.h"
#include "cr/restore_ctx.h"

static void send_report(struct rst_ctx *c, uint32_t idx, int status)
{
	struct rst_report rep;
	struct ucred cred = { getpid(), getuid(), getgid() };
	char cbuf[CMSG_SPACE(sizeof(cred))];
	struct iovec iov = { &rep, sizeof(rep) };
	struct msghdr mh = { 0 };
	struct cmsghdr *cm;

	memset(&rep, 0, sizeof(rep));
	rep.idx = idx;
	rep.status = status;
	if (status)
		snprintf(rep.msg, sizeof(rep.msg), "%s", err_msg());
	memset(cbuf, 0, sizeof(cbuf));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_CREDENTIALS;
	cm->cmsg_len = CMSG_LEN(sizeof(cred));
	memcpy(CMSG_DATA(cm), &cred, sizeof(cred));
	while (sendmsg(svc_report_fd(c), &mh, 0) < 0 && errno == EINTR)
		;
}

static void __attribute__((noreturn)) fail(struct rst_ctx *c, uint32_t idx)
{
	err_wrap("restore pid %d", c->img.procs[idx].pid);
	send_report(c, idx, -1);
	_exit(1);
}

static void __attribute__((noreturn)) exit_as_zombie(const struct cr_proc *p)
{
	int st = p->exit_code;

	if (WIFSIGNALED(st)) {
		sigset_t all;

		signal(WTERMSIG(st), SIG_DFL);
		sigfillset(&all);
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		kill(getpid(), WTERMSIG(st));
	}
	_exit(WEXITSTATUS(st));
}

/* The session comes from fork (or setsid here); process groups are set
 * later by the restorer once every process exists (restore_groups). */
static int take_session(const struct cr_proc *p)
{
	if (p->sid == p->pid) {
		if (setsid() < 0)
			return err_sys("setsid");
		return 0;
	}
	if (getsid(0) != p->sid)
		return err_set("session %d is not inherited from the parent (unsupported)",
			       p->sid);
	return 0;
}

/* A zombie joins its group now if it can: it cannot be asked later. */
static void zombie_group(const struct cr_proc *p)
{
	if (p->pgid != p->sid)
		setpgid(0, p->pgid == p->pid ? 0 : p->pgid);
}

/* Open path with flags at exactly fd number want. */
static int open_at(const char *path, int flags, int want, int cloexec)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0)
		return err_sys("open %s", path);
	if (fd != want) {
		if (dup3(fd, want, cloexec ? O_CLOEXEC : 0) < 0) {
			close(fd);
			return err_sys("dup %s to fd %d", path, want);
		}
		close(fd);
	} else if (!cloexec && fcntl(fd, F_SETFD, 0) < 0) {
		return err_sys("fd %d: clear close-on-exec", want);
	}
	return 0;
}

static int open_service_files(struct rst_ctx *c, const struct rst_proc *rp)
{
	for (uint32_t i = 0; i < rp->nr_files; i++) {
		const struct rst_file *f = &rp->files[i];

		if (open_at(f->path, f->writable ? O_RDWR : O_RDONLY, svc_file_fd(c, i), 1) < 0)
			return -1;
	}
	return 0;
}

/* Default dispositions for every signal, glibc's internal ones (32, 33)
 * included, which its sigaction() refuses to touch: the raw call does. */
static int reset_signals(void)
{
	uint64_t none = 0, dfl[4] = { 0, 0, 0, 0 };   /* handler, flags, restorer, mask */

	for (int sig = 1; sig <= CR_NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP &&
		    syscall(SYS_rt_sigaction, sig, dfl, NULL, 8) < 0)
			return err_sys("reset signal %d", sig);
	if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8) < 0)
		return err_sys("sigprocmask");
	return 0;
}

static int map_scratch(struct rst_ctx *c)
{
	size_t len;
	const uint8_t *code = inj_scratch_code(&len);
	void *m = mmap((void *)c->scratch, INJ_SCRATCH_SIZE,
		       PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (m == MAP_FAILED)
		return err_sys("mmap scratch area at 0x%llx", (unsigned long long)c->scratch);
	if (m != (void *)c->scratch)
		return err_set("scratch area landed at %p", m);
	memcpy(m, code, len);
	return 0;
}

static pid_t fork_with_pid(pid_t pid, int exit_signal)
{
	struct clone_args args;
	pid_t tid = pid;

	memset(&args, 0, sizeof(args));
	args.exit_signal = (uint64_t)(exit_signal > 0 && exit_signal < 65 ? exit_signal : SIGCHLD);
	args.set_tid = (uint64_t)(uintptr_t)&tid;
	args.set_tid_size = 1;
	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

/* 1 if no process of the image is session sid's leader: the daemon that
 * made it (setsid(), then fork) has exited. */
static int session_gone(const struct rst_ctx *c, int32_t sid)
{
	for (uint32_t j = 0; j < c->img.nr_procs; j++)
		if (c->img.procs[j].pid == sid)
			return 0;
	return 1;
}

/* Child j of idx forked by idx itself (not late, not in a gone session). */
static int forked_here(const struct rst_ctx *c, uint32_t idx, uint32_t j)
{
	const struct cr_proc *ch = &c->img.procs[j];

	return ch->ppid == c->img.procs[idx].pid && !c->procs[j].late &&
	       !(ch->sid != ch->pid && ch->sid != c->img.procs[idx].sid && session_gone(c, ch->sid));
}

/* In a session helper (pid sid, a new session): fork every child of idx
 * in that session, then exit.  They are orphans at once and go to the
 * tree's first process, as the dumped ones had. */
static void __attribute__((noreturn)) session_helper(struct rst_ctx *c, uint32_t idx, int32_t sid,
						      uint32_t first)
{
	if (setsid() < 0) {
		err_sys("setsid (helper of session %d)", sid);
		fail(c, first);
	}
	for (uint32_t j = first; j < c->img.nr_procs; j++) {
		const struct cr_proc *ch = &c->img.procs[j];
		pid_t r;

		if (ch->ppid != c->img.procs[idx].pid || ch->sid != sid || c->procs[j].late)
			continue;
		r = fork_with_pid(ch->pid, ch->exit_signal);
		if (r < 0) {
			err_sys("clone3 child with pid %d (helper of session %d)", ch->pid, sid);
			fail(c, j);
		}
		if (r == 0)
			rst_tree_main(c, j);
	}
	_exit(0);
}

/* The helper of the gone session of child j: made (pid: the session's
 * id), run and reaped; only the tree's first process may have one (an
 * orphan goes to it). */
static int fork_session(struct rst_ctx *c, uint32_t idx, uint32_t j)
{
	int32_t sid = c->img.procs[j].sid;
	pid_t h;
	int st;

	for (uint32_t k = idx + 1; k < j; k++)
		if (c->img.procs[k].ppid == c->img.procs[idx].pid && c->img.procs[k].sid == sid &&
		    !forked_here(c, idx, k))
			return 0;   /* done with an earlier sibling */
	if (idx != 0)
		return err_set("pid %d: session %d has no leader and its parent is not the "
			       "tree's first process (unsupported)", c->img.procs[j].pid, sid);
	h = fork_with_pid(sid, SIGCHLD);
	if (h < 0)
		return err_sys("clone3 the helper of session %d", sid);
	if (h == 0)
		session_helper(c, idx, sid, j);
	if (waitpid(h, &st, 0) < 0)
		return err_sys("wait for the helper of session %d", sid);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return err_set("the helper of session %d failed", sid);
	return 0;
}

static int fork_children(struct rst_ctx *c, uint32_t idx)
{
	const struct cr_proc *p = &c->img.procs[idx];

	for (uint32_t j = idx + 1; j < c->img.nr_procs; j++) {
		const struct cr_proc *ch = &c->img.procs[j];
		pid_t r;

		if (ch->ppid != p->pid || c->procs[j].late)
			continue;   /* a late child: restore_fork.c */
		if (!forked_here(c, idx, j)) {
			if (fork_session(c, idx, j) < 0)
				return -1;
			continue;
		}
		r = fork_with_pid(ch->pid, ch->exit_signal);
		if (r < 0)
			return err_sys("clone3 child with pid %d", ch->pid);
		if (r == 0)
			rst_tree_main(c, j);
	}
	return 0;
}

static int setup_self(struct rst_ctx *c, uint32_t idx)
{
	struct rst_proc *rp = &c->procs[idx];
	const struct cr_proc *p = rp->p;

	if (idx == 0 && (c->box ? box_enter(c->box) : ns_setup_mounts()) < 0)
		return -1;
	if (idx == 0 && !c->box && c->ipc_ns_fd > 0 && setns(c->ipc_ns_fd, CLONE_NEWIPC) < 0)
		return err_sys("join the restored IPC namespace");
	if (take_session(p) < 0)
		return -1;
	if (p->zombie) {
		zombie_group(p);
		return 0;
	}
	if (reset_signals() < 0)
		return -1;
	if (close_range(0, (unsigned)c->svc_base - 1, 0) < 0)
		return err_sys("close inherited fds");
	if (close_range((unsigned)svc_file_fd(c, 0), ~0u, 0) < 0)
		return err_sys("close inherited fds");
	if (rst_files_install(c, idx) < 0 || tty_take_ctty(c, idx) < 0 ||
	    open_service_files(c, rp) < 0)
		return -1;
	umask(p->umask);
	if (personality(p->personality) < 0)
		return err_sys("personality 0x%x", p->personality);
	return 0;
}

/* cwd and root are paths as the restorer sees them: change directory
 * first, then chroot (a cwd inside the root or outside it both come back).
 * Done after the children are forked, so that each starts from the
 * restorer's root. */
static int enter_dirs(const struct cr_proc *p)
{
	if (p->cwd && chdir(p->cwd) < 0)
		return err_sys("chdir %s", p->cwd);
	if (p->root && strcmp(p->root, "/") != 0 && chroot(p->root) < 0)
		return err_sys("chroot %s", p->root);
	return 0;
}

void rst_tree_main(struct rst_ctx *c, uint32_t idx)
{
	const struct cr_proc *p = &c->img.procs[idx];

	if (setup_self(c, idx) < 0)
		fail(c, idx);
	if (p->zombie)
		exit_as_zombie(p);
	if (fork_children(c, idx) < 0 || enter_dirs(p) < 0 || map_scratch(c) < 0)
		fail(c, idx);
	send_report(c, idx, 0);
	for (;;)
		pause();
}

int rst_file_index(const struct rst_proc *rp, const char *path)
{
	for (uint32_t i = 0; i < rp->nr_files; i++)
		if (!strcmp(rp->files[i].path, path))
			return (int)i;
	return -1;
}

int rst_add_file(struct rst_proc *rp, const char *path, int writable)
{
	int i = rst_file_index(rp, path);
	struct rst_file *g;

	if (i >= 0) {
		rp->files[i].writable |= writable;
		return i;
	}
	g = realloc(rp->files, (rp->nr_files + 1) * sizeof(*g));
	if (!g)
		return err_set("out of memory");
	rp->files = g;
	g[rp->nr_files].path = path;
	g[rp->nr_files].writable = writable;
	return (int)rp->nr_files++;
}

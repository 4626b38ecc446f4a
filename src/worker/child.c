/* child.c - engine operations in forked children (see child.h), and the
 * spare: one child forked ahead, idle until a swap-in hands it its
 * operation, so that a revival does not wait for the daemon's fork. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "worker/child.h"

struct child_shared {
	int rc;
	int done;
	char msg[ERR_MSG_MAX];
	char out[CHILD_OUT_MAX];
	/* a spare's operation, written before it is woken */
	int (*fn)(void *arg, void *out);
	char arg[CHILD_ARG_MAX];
};

/* The signals and mask a fresh process has: the daemon's handlers and
 * blocked signals stay in the daemon. */
static void reset_signals(void)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void run_body(int (*fn)(void *, void *), void *arg, struct child_shared *sh)
{
	sh->rc = fn(arg, sh->out);
	if (sh->rc < 0)
		snprintf(sh->msg, sizeof(sh->msg), "%s", err_msg());
	sh->done = 1;
	_exit(0);
}

static void child_body(int (*fn)(void *, void *), void *arg, struct child_shared *sh)
{
	reset_signals();
	/* The daemon's sockets, registry and lock file stay in the daemon. */
	close_range(3, ~0u, 0);
	run_body(fn, arg, sh);
}

static int wait_child(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return err_sys("waitpid %d", (int)pid);
	return 0;
}

/* The parent's side once child pid runs: wait, then its result. */
static int collect(pid_t pid, struct child_shared *sh, void *out, size_t outlen,
		   void (*started)(pid_t pid, void *ctx), void *ctx)
{
	int status = 0, rc;

	if (started)
		started(pid, ctx);
	rc = wait_child(pid, &status);
	if (rc == 0 && !sh->done)
		rc = WIFSIGNALED(status)
			     ? err_set("engine child %d died of signal %d", (int)pid, WTERMSIG(status))
			     : err_set("engine child %d exited with status %d", (int)pid,
				       WEXITSTATUS(status));
	else if (rc == 0 && sh->rc < 0)
		rc = err_set("%s", sh->msg);
	if (sh->done && outlen)      /* a failed operation reports too */
		memcpy(out, sh->out, outlen);
	munmap(sh, sizeof(*sh));
	return rc;
}

static struct child_shared *shared_new(void)
{
	struct child_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (sh == MAP_FAILED) {
		err_sys("mmap child result");
		return NULL;
	}
	return sh;
}

int child_run(int (*fn)(void *arg, void *out), void *arg, void *out, size_t outlen,
	      void (*started)(pid_t pid, void *ctx), void *ctx)
{
	struct child_shared *sh;
	pid_t pid;

	if (outlen > CHILD_OUT_MAX)
		return err_set("child result of %zu bytes is too large", outlen);
	sh = shared_new();
	if (!sh)
		return -1;
	if (outlen)
		memcpy(sh->out, out, outlen);
	pid = fork();
	if (pid < 0) {
		munmap(sh, sizeof(*sh));
		return err_sys("fork");
	}
	if (pid == 0)
		child_body(fn, arg, sh);
	return collect(pid, sh, out, outlen, started, ctx);
}

/* The spare: forked ahead, it waits on a pipe (fd 3) for one byte, then
 * runs the operation written into its shared page; the pipe's end in the
 * daemon closing (daemon gone or stopping) ends it. */
static struct {
	pthread_mutex_t lock;
	pid_t pid;                  /* 0: none */
	int wfd;
	struct child_shared *sh;
} spare = { PTHREAD_MUTEX_INITIALIZER, 0, -1, NULL };

static void spare_body(int rfd, struct child_shared *sh)
{
	char go;

	reset_signals();
	if (rfd != 3 && dup2(rfd, 3) < 0)
		_exit(1);
	close_range(4, ~0u, 0);
	while (read(3, &go, 1) < 0 && errno == EINTR)
		;
	if (!sh->fn)
		_exit(0);
	close(3);
	run_body(sh->fn, sh->arg, sh);
}

void child_spare_keep(void)
{
	struct child_shared *sh;
	int p[2];
	pid_t pid;

	pthread_mutex_lock(&spare.lock);
	if (spare.pid)
		goto out;
	sh = shared_new();
	if (!sh)
		goto out;
	if (pipe2(p, O_CLOEXEC) < 0) {
		munmap(sh, sizeof(*sh));
		goto out;
	}
	pid = fork();
	if (pid == 0)
		spare_body(p[0], sh);
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		munmap(sh, sizeof(*sh));
		goto out;
	}
	spare.pid = pid;
	spare.wfd = p[1];
	spare.sh = sh;
out:
	err_clear();            /* no spare: operations fork as before */
	pthread_mutex_unlock(&spare.lock);
}

/* Take the spare (0 if none). */
static pid_t spare_take(int *wfd, struct child_shared **sh)
{
	pid_t pid;

	pthread_mutex_lock(&spare.lock);
	pid = spare.pid;
	*wfd = spare.wfd;
	*sh = spare.sh;
	spare.pid = 0;
	spare.wfd = -1;
	spare.sh = NULL;
	pthread_mutex_unlock(&spare.lock);
	return pid;
}

/* A spare not used: its pipe closed, it ends. */
static void spare_end(pid_t pid, int wfd, struct child_shared *sh)
{
	int status;

	close(wfd);
	wait_child(pid, &status);
	err_clear();
	munmap(sh, sizeof(*sh));
}

void child_spare_stop(void)
{
	struct child_shared *sh;
	int wfd;
	pid_t pid = spare_take(&wfd, &sh);

	if (pid)
		spare_end(pid, wfd, sh);
}

int child_run_packed(int (*fn)(void *arg, void *out), const void *arg,
		     size_t (*pack)(const void *arg, void *dst, size_t cap), void *out,
		     size_t outlen, void (*started)(pid_t pid, void *ctx), void *ctx)
{
	struct child_shared *sh;
	int wfd;
	pid_t pid = outlen <= CHILD_OUT_MAX ? spare_take(&wfd, &sh) : 0;

	if (pid && pack(arg, sh->arg, sizeof(sh->arg)) == 0) {
		spare_end(pid, wfd, sh);
		pid = 0;
	}
	if (!pid)
		return child_run(fn, (void *)arg, out, outlen, started, ctx);
	sh->fn = fn;
	if (outlen)
		memcpy(sh->out, out, outlen);
	if (write(wfd, "g", 1) != 1) {
		/* it ends on its own: no fn when the pipe closes */
		sh->fn = NULL;
		spare_end(pid, wfd, sh);
		return child_run(fn, (void *)arg, out, outlen, started, ctx);
	}
	close(wfd);
	return collect(pid, sh, out, outlen, started, ctx);
}

/* child.c - engine operations in forked children (see child.h). */
#include <errno.h>
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
};

static void child_body(int (*fn)(void *, void *), void *arg, struct child_shared *sh)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* The daemon's sockets, registry and lock file stay in the daemon. */
	close_range(3, ~0u, 0);
	sh->rc = fn(arg, sh->out);
	if (sh->rc < 0)
		snprintf(sh->msg, sizeof(sh->msg), "%s", err_msg());
	sh->done = 1;
	_exit(0);
}

static int wait_child(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return err_sys("waitpid %d", (int)pid);
	return 0;
}

int child_run(int (*fn)(void *arg, void *out), void *arg, void *out, size_t outlen,
	      void (*started)(pid_t pid, void *ctx), void *ctx)
{
	struct child_shared *sh;
	int status = 0, rc;
	pid_t pid;

	if (outlen > CHILD_OUT_MAX)
		return err_set("child result of %zu bytes is too large", outlen);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return err_sys("mmap child result");
	if (outlen)
		memcpy(sh->out, out, outlen);
	pid = fork();
	if (pid < 0) {
		munmap(sh, sizeof(*sh));
		return err_sys("fork");
	}
	if (pid == 0)
		child_body(fn, arg, sh);
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

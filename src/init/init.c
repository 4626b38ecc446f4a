/*
 * init.c - picocenter-init, the first process of an app's tree (its pid
 * namespace's pid 1) when the app runs with an init (docs/serve.md, Init).
 *
 *     picocenter-init [--report-fd N] -- CMD [ARGS...]
 *
 * It owns the life of pid 1: it forks and execs CMD (same environment,
 * working directory, user and process group: it changes none of them),
 * reaps every process that ends up its child (the zombies a daemonizing
 * server leaves), forwards TERM, INT, HUP, QUIT, USR1, USR2 and WINCH to
 * CMD while it lives and to every process of the namespace once it has
 * gone, and exits when no process is left: with CMD's exit status (128+N
 * if a signal N ended it).  A CMD that exits 0 after forking a daemon
 * leaves init waiting for as long as any process lives.
 *
 * --report-fd N: a pipe of the spawner (closed on exec).  A CMD that cannot
 * be executed writes "exec CMD: REASON" there, as the spawner does without
 * an init, so the caller gets the same error.
 *
 * Built static (no library needed in the box's root) and apart from the
 * picocenter binary; it links nothing of picocenter.  Signals are blocked
 * and taken with sigwaitinfo(): a pid 1 gets no signal it has no handler
 * for, but a blocked one is queued.  Every wait is restarted after an
 * interruption (a checkpoint's PTRACE_INTERRUPT ends it with EINTR).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

static void say(const char *what, const char *arg)
{
	fprintf(stderr, "picocenter-init: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "",
		strerror(errno));
}

/* The signals init takes: the forwarded ones and SIGCHLD. */
static void init_sigset(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(set, forwarded[i]);
}

/* In the child: the caller's signal mask back, then CMD; on failure the
 * reason goes to the report pipe (or stderr) and the child exits 127. */
static void run_cmd(char **argv, const sigset_t *old, int report)
{
	char msg[512];
	int n;

	if (sigprocmask(SIG_SETMASK, old, NULL) < 0)
		say("sigprocmask", NULL);
	execvp(argv[0], argv);
	n = snprintf(msg, sizeof(msg), "exec %s: %s", argv[0], strerror(errno));
	if (report < 0 || write(report, msg, (size_t)n) < 0)
		fprintf(stderr, "picocenter-init: %s\n", msg);
	_exit(127);
}

static int status_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Reap every child that has ended; 1 when none is left. */
static int reap(pid_t cmd, int *cmd_gone, int *code)
{
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, WNOHANG);

		if (p == 0)
			return 0;
		if (p < 0)
			return errno == ECHILD ? 1 : (errno == EINTR ? 0 : (say("waitpid", NULL), 0));
		if (p == cmd) {
			*cmd_gone = 1;
			*code = status_code(st);
		}
	}
}

/* CMD while it lives, else every process but init (kill(-1) from pid 1). */
static void forward(int sig, pid_t cmd, int cmd_gone)
{
	if (kill(cmd_gone ? -1 : cmd, sig) < 0 && errno != ESRCH)
		say("forward a signal", NULL);
}

static int parse_args(int argc, char **argv, int *report)
{
	int i = 1;

	*report = -1;
	if (i + 1 < argc && !strcmp(argv[i], "--report-fd")) {
		char *end;
		long v = strtol(argv[i + 1], &end, 10);

		if (*end || v < 0 || v > 1023 || fcntl((int)v, F_SETFD, FD_CLOEXEC) < 0) {
			fprintf(stderr, "picocenter-init: bad --report-fd %s\n", argv[i + 1]);
			return -1;
		}
		*report = (int)v;
		i += 2;
	}
	if (i >= argc || strcmp(argv[i], "--") || i + 1 >= argc) {
		fprintf(stderr, "usage: picocenter-init [--report-fd N] -- CMD [ARGS...]\n");
		return -1;
	}
	return i + 1;
}

int main(int argc, char **argv)
{
	sigset_t set, old;
	int report, first, cmd_gone = 0, code = 0;
	pid_t cmd;

	first = parse_args(argc, argv, &report);
	if (first < 0)
		return 2;
	init_sigset(&set);
	if (sigprocmask(SIG_BLOCK, &set, &old) < 0) {
		say("sigprocmask", NULL);
		return 2;
	}
	cmd = fork();
	if (cmd < 0) {
		say("fork", argv[first]);
		return 2;
	}
	if (cmd == 0)
		run_cmd(argv + first, &old, report);
	if (report >= 0)
		close(report);
	for (;;) {
		int sig = sigwaitinfo(&set, NULL);

		if (sig < 0) {
			if (errno != EINTR)
				say("sigwaitinfo", NULL);
		} else if (sig != SIGCHLD) {
			forward(sig, cmd, cmd_gone);
		}
		if (reap(cmd, &cmd_gone, &code))
			return code;
	}
}

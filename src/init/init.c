/*
 * init.c - picocenter-init, the first process of an app's tree (its pid
 * namespace's pid 1) when the app runs with an init (docs/serve.md, Init).
 *
 *     picocenter-init [--report-fd N] -- CMD [ARGS...]
 *
 * It owns the life of pid 1: it forks and execs CMD (same environment,
 * working directory, user, session and process group: it changes none of
 * them; CMD is looked up in PATH and a file without "#!" run by /bin/sh,
 * as execvp does), reaps every process that
 * ends up its child (the zombies a daemonizing server leaves), forwards
 * TERM, INT, HUP, QUIT, USR1, USR2 and WINCH to CMD while it lives and to
 * every process of the namespace once it has gone, and exits when no
 * process is left: with CMD's exit status (128+N if a signal N ended it).
 * A CMD that exits 0 after forking a daemon leaves init waiting for as
 * long as any process lives.
 *
 * --report-fd N: a pipe of the spawner (closed on exec).  A CMD that cannot
 * be executed writes "exec CMD: REASON" there, as the spawner does without
 * an init, so the caller gets the same error.
 *
 * Built static with no C library (sys.h; the process entry, _start, is
 * at the end of this file): it runs in any box root and
 * costs an app a few pages.  Signals are blocked and taken with
 * rt_sigtimedwait: a pid 1 gets no signal it has no handler for, but a
 * blocked one is queued.  Every wait is restarted after an interruption
 * (a checkpoint's PTRACE_INTERRUPT ends it with EINTR).
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "init/sys.h"

#define PATH_BUF 4096
#define MAX_ARGS 4096
#define SIGBIT(s) (1ull << ((s) - 1))

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

/* "picocenter-init: WHAT: REASON" (or the bare message with fd >= 0). */
static void say(int fd, const char *what, const char *arg, long err)
{
	char msg[512];
	size_t n = 0;

	if (fd < 0)
		str_add(msg, sizeof(msg), &n, "picocenter-init: ");
	str_add(msg, sizeof(msg), &n, what);
	if (arg) {
		str_add(msg, sizeof(msg), &n, " ");
		str_add(msg, sizeof(msg), &n, arg);
	}
	str_add(msg, sizeof(msg), &n, ": ");
	str_add(msg, sizeof(msg), &n, err_name(err));
	if (fd < 0)
		str_add(msg, sizeof(msg), &n, "\n");
	if (fd < 0 || sys3(SYS_write, fd, msg, n) < 0)
		sys3(SYS_write, 2, msg, n);
}

static const char *env_get(char **envp, const char *key)
{
	size_t k = str_len(key);

	for (; *envp; envp++) {
		size_t i = 0;

		while (i < k && (*envp)[i] == key[i])
			i++;
		if (i == k && (*envp)[k] == '=')
			return *envp + k + 1;
	}
	return NULL;
}

/* execve of file; one the kernel cannot execute (no "#!" line) is run
 * by /bin/sh, as execvp does.  Returns the error. */
static long exec_file(const char *file, char **argv, char **envp)
{
	static char *sh_argv[MAX_ARGS + 2];
	long e = sys3(SYS_execve, file, argv, envp);
	size_t n;

	if (e != -ENOEXEC)
		return e;
	sh_argv[0] = "/bin/sh";
	sh_argv[1] = (char *)file;
	for (n = 1; argv[n] && n < MAX_ARGS; n++)
		sh_argv[n + 1] = argv[n];
	sh_argv[n + 1] = NULL;
	sys3(SYS_execve, "/bin/sh", sh_argv, envp);
	return e;
}

/* CMD, searched in PATH when it has no '/' (glibc's default path without
 * one); the error that counts, as execvp reports it. */
static long exec_cmd(char **argv, char **envp)
{
	const char *path = env_get(envp, "PATH"), *p;
	char buf[PATH_BUF];
	long e, seen = -ENOENT;

	for (p = argv[0]; *p; p++)
		if (*p == '/')
			return exec_file(argv[0], argv, envp);
	for (p = path ? path : "/bin:/usr/bin"; ; p++) {
		size_t n = 0;

		while (*p && *p != ':' && n + 1 < sizeof(buf))
			buf[n++] = *p++;
		if (n == 0)
			buf[n++] = '.';
		buf[n] = '\0';
		str_add(buf, sizeof(buf), &n, "/");
		str_add(buf, sizeof(buf), &n, argv[0]);
		e = exec_file(buf, argv, envp);
		if (e == -EACCES)
			seen = e;
		else if (e != -ENOENT && e != -ENOTDIR && e != -ESTALE && e != -ENODEV &&
			 e != -ETIMEDOUT)
			return e;
		if (!*p)
			return seen;
	}
}

/* In the child: the caller's signal mask back, then CMD; on failure the
 * reason goes to the report pipe (or stderr) and the child exits 127. */
static void run_cmd(char **argv, char **envp, uint64_t old, int report)
{
	long e = sys6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old, 0, 8, 0, 0);

	if (e < 0)
		say(-1, "sigprocmask", NULL, -e);
	e = exec_cmd(argv, envp);
	say(report, "exec", argv[0], -e);
	sys3(SYS_exit_group, 127, 0, 0);
}

static int status_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Reap every child that has ended; 1 when none is left. */
static int reap(long cmd, int *cmd_gone, int *code)
{
	for (;;) {
		int st = 0;
		long p = sys6(SYS_wait4, -1, (long)&st, WNOHANG, 0, 0, 0);

		if (p == 0 || p == -EINTR)
			return 0;
		if (p == -ECHILD)
			return 1;
		if (p < 0) {
			say(-1, "wait4", NULL, -p);
			return 0;
		}
		if (p == cmd) {
			*cmd_gone = 1;
			*code = status_code(st);
		}
	}
}

/* CMD while it lives, else every process but init (kill(-1) from pid 1). */
static void forward(int sig, long cmd, int cmd_gone)
{
	long e = sys3(SYS_kill, cmd_gone ? -1 : cmd, sig, 0);

	if (e < 0 && e != -ESRCH)
		say(-1, "forward a signal", NULL, -e);
}

static int parse_fd(const char *s)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 1023)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v > 1023 || sys3(SYS_fcntl, v, F_SETFD, FD_CLOEXEC) < 0 ? -1 : (int)v;
}

static int parse_args(int argc, char **argv, int *report)
{
	int i = 1;

	*report = -1;
	if (i + 1 < argc && str_eq(argv[i], "--report-fd")) {
		*report = parse_fd(argv[i + 1]);
		if (*report < 0) {
			say(-1, "bad --report-fd", argv[i + 1], EBADF);
			return -1;
		}
		i += 2;
	}
	if (i >= argc || !str_eq(argv[i], "--") || i + 1 >= argc) {
		static const char usage[] =
			"usage: picocenter-init [--report-fd N] -- CMD [ARGS...]\n";

		sys3(SYS_write, 2, usage, sizeof(usage) - 1);
		return -1;
	}
	return i + 1;
}

int init_main(int argc, char **argv, char **envp)
{
	uint64_t set = SIGBIT(SIGCHLD), old = 0;
	int report, first, cmd_gone = 0, code = 0;
	long cmd, e;

	first = parse_args(argc, argv, &report);
	if (first < 0)
		return 2;
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		set |= SIGBIT(forwarded[i]);
	e = sys6(SYS_rt_sigprocmask, SIG_BLOCK, (long)&set, (long)&old, 8, 0, 0);
	if (e < 0) {
		say(-1, "sigprocmask", NULL, -e);
		return 2;
	}
	cmd = sys6(SYS_clone, SIGCHLD, 0, 0, 0, 0, 0);
	if (cmd < 0) {
		say(-1, "fork", argv[first], -cmd);
		return 2;
	}
	if (cmd == 0)
		run_cmd(argv + first, envp, old, report);
	if (report >= 0)
		sys3(SYS_close, report, 0, 0);
	for (;;) {
		long sig = sys6(SYS_rt_sigtimedwait, (long)&set, 0, 0, 8, 0, 0);

		if (sig < 0 && sig != -EINTR && sig != -EAGAIN)
			say(-1, "sigtimedwait", NULL, -sig);
		else if (sig > 0 && sig != SIGCHLD)
			forward((int)sig, cmd, cmd_gone);
		if (reap(cmd, &cmd_gone, &code))
			return code;
	}
}

/* The entry: the kernel's stack holds argc, argv, NULL, envp, NULL. */
void start_c(long *sp);
__attribute__((used)) void start_c(long *sp)
{
	int argc = (int)sp[0];
	char **argv = (char **)(sp + 1);

	sys3(SYS_exit_group, init_main(argc, argv, argv + argc + 1), 0, 0);
	for (;;)
		;
}

__asm__(".text\n"
	".global _start\n"
	"_start:\n"
	"	xor %rbp, %rbp\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call start_c\n"
	"	hlt\n");

/*
 * asyncfd.c - signal-driven I/O survives checkpoint/restore: a pipe's read
 * end with O_ASYNC and O_NONBLOCK, owned by the process (F_SETOWN_EX) and
 * signalling SIGRTMIN+3 (F_SETSIG), and a second pipe owned by a thread
 * (F_OWNER_TID).  After every cycle the flags, owners and signal must read
 * back, and a byte written into each pipe must raise the signal with
 * si_fd naming that pipe, delivered to the right thread.
 */
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#include "check.h"

#define SIG_IO (SIGRTMIN + 3)

static int proc_pipe[2], thr_pipe[2];
static pid_t thr_tid;
static atomic_int got_proc, got_thr, wrong_thread;

static void on_io(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_fd == proc_pipe[0])
		atomic_fetch_add(&got_proc, 1);
	else if (si->si_fd == thr_pipe[0]) {
		if (syscall(SYS_gettid) != thr_tid)
			atomic_fetch_add(&wrong_thread, 1);
		atomic_fetch_add(&got_thr, 1);
	}
}

static void *thread_main(void *arg)
{
	(void)arg;
	thr_tid = (pid_t)syscall(SYS_gettid);
	for (;;)
		pause();
	return NULL;
}

static void make_async(int fds[2], int type, pid_t owner)
{
	struct f_owner_ex own = { type, owner };

	if (pipe(fds) < 0)
		ck_die("pipe");
	if (fcntl(fds[0], F_SETFL, O_ASYNC | O_NONBLOCK) < 0 ||
	    fcntl(fds[0], F_SETOWN_EX, &own) < 0 || fcntl(fds[0], F_SETSIG, SIG_IO) < 0)
		ck_die("fcntl async");
}

static void check_fd(const char *name, int fd, int type, pid_t owner)
{
	struct f_owner_ex own = { 0, 0 };
	int fl = fcntl(fd, F_GETFL);

	CK((fl & (O_ASYNC | O_NONBLOCK)) == (O_ASYNC | O_NONBLOCK), "%s: flags 0%o", name, fl);
	CK(fcntl(fd, F_GETSIG) == SIG_IO, "%s: F_GETSIG %d, want %d", name,
	   fcntl(fd, F_GETSIG), SIG_IO);
	CK(fcntl(fd, F_GETOWN_EX, &own) == 0 && (int)own.type == type && own.pid == owner,
	   "%s: owner type %d pid %d, want %d %d", name, own.type, own.pid, type, owner);
}

static void check_signal(const char *name, int fds[2], atomic_int *got)
{
	int before = atomic_load(got);
	char c;

	CK(write(fds[1], "x", 1) == 1, "%s: write", name);
	for (int i = 0; i < 2000 && atomic_load(got) == before; i++)
		ck_sleep_us(1000);
	CK(atomic_load(got) > before, "%s: no SIGRTMIN+3 after a write", name);
	while (read(fds[0], &c, 1) == 1)
		;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { 0 };
	pthread_t t;

	ck_init(argc, argv);
	sa.sa_sigaction = on_io;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	if (sigaction(SIG_IO, &sa, NULL) < 0)
		ck_die("sigaction");
	if (pthread_create(&t, NULL, thread_main, NULL))
		ck_die("pthread_create");
	while (!thr_tid)
		ck_sleep_us(1000);
	make_async(proc_pipe, F_OWNER_PID, getpid());
	make_async(thr_pipe, F_OWNER_TID, thr_tid);
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		check_fd("process-owned pipe", proc_pipe[0], F_OWNER_PID, getpid());
		check_fd("thread-owned pipe", thr_pipe[0], F_OWNER_TID, thr_tid);
		check_signal("process-owned pipe", proc_pipe, &got_proc);
		check_signal("thread-owned pipe", thr_pipe, &got_thr);
		CK(atomic_load(&wrong_thread) == 0, "%d signals went to the wrong thread",
		   atomic_load(&wrong_thread));
		ck_report(n);
	}
}

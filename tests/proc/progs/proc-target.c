/*
 * proc-target.c - the process tree u-proc reads through /proc.  Runs as
 * pid 1 of a fresh PID namespace: `proc-target MODE WORKDIR`, reports a
 * struct pt_info on fd 3, closes it and waits to be killed.
 *   main:   threads, children (own process group, zombie, pipe, socket),
 *           mappings, rlimits, umask, creds, timers and files of known state
 *   gone:   a child whose process group leader has exited, and a child
 *           whose main thread exited while another thread lives on
 *   nested: a grandchild in a nested PID namespace
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>

#include "proc-target.h"

extern char **environ;

static struct pt_info info;
static int initialized_data = 42;       /* lives in the data segment */
static pthread_barrier_t barrier;

static void fail(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(info.err, sizeof(info.err), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(info.err) - 32)
		snprintf(info.err + n, sizeof(info.err) - (size_t)n, ": %s", strerror(errno));
	if (write(3, &info, sizeof(info)) < 0)
		_exit(2);
	_exit(1);
}

static void sleep_forever(void)
{
	for (;;)
		pause();
}

static void report_and_wait(void)
{
	if (write(3, &info, sizeof(info)) != (ssize_t)sizeof(info))
		_exit(2);
	close(3);
	sleep_forever();
}

static void stdio_to_null(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		fail("stdio to /dev/null");
	if (fd > 2)
		close(fd);
}

/* ---- mode main ---- */

static void set_process_state(const char *workdir)
{
	struct rlimit rl = { 100, 200 };
	gid_t groups[3] = { 1, 2, 3 };

	umask(027);
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		fail("setrlimit");
	if (personality(PER_LINUX | ADDR_NO_RANDOMIZE) < 0)
		fail("personality");
	if (prctl(PR_SET_NAME, "pc-init") < 0 || chdir(workdir) < 0)
		fail("name/chdir");
	if (setgroups(3, groups) < 0 || setresgid(0, 5, 0) < 0)
		fail("setgroups/setresgid");
	if (prctl(PR_CAPBSET_DROP, CAP_SYS_BOOT) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail("capbset/nnp");
}

/* Child "pc-grp" (own process group, a pipe) and its child "pc-sock". */
static void fork_group_children(const int ready_pipe[2])
{
	int ready = ready_pipe[1];
	pid_t b = fork(), c;
	int p[2], s;

	if (b < 0)
		fail("fork");
	if (b > 0) {
		info.grp_pid = b;
		return;
	}
	close(3);
	close(ready_pipe[0]);
	prctl(PR_SET_NAME, "pc-grp");
	if (setpgid(0, 0) < 0 || pipe(p) < 0 || dup2(p[0], PT_FD_PIPE) < 0 ||
	    dup2(p[1], PT_FD_PIPE + 1) < 0)
		_exit(3);
	close(p[0]);
	close(p[1]);
	c = fork();
	if (c == 0) {
		prctl(PR_SET_NAME, "pc-sock");
		close(PT_FD_PIPE);
		close(PT_FD_PIPE + 1);
		s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (s < 0 || dup2(s, PT_FD_SOCK) < 0)
			_exit(3);
		close(s);
		if (write(ready, &(int32_t){ getpid() }, 4) != 4)
			_exit(3);
		close(ready);
		sleep_forever();
	}
	close(ready);
	sleep_forever();
}

static void make_zombie(void)
{
	siginfo_t si;
	pid_t z = fork();

	if (z < 0)
		fail("fork zombie");
	if (z == 0) {
		prctl(PR_SET_NAME, "pc-zombie");
		_exit(3);
	}
	if (waitid(P_PID, (id_t)z, &si, WEXITED | WNOWAIT) < 0)
		fail("waitid zombie");
	info.zombie_pid = z;
}

static void map_fixed(char *at, size_t len, int prot, int flags, int fd, off_t off)
{
	if (mmap(at, len, prot, flags | MAP_FIXED, fd, off) == MAP_FAILED)
		fail("mmap at %p", (void *)at);
}

static int make_file(const char *name, size_t size)
{
	int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		fail("create %s", name);
	return fd;
}

static void make_mappings(void)
{
	char *r = mmap(NULL, PT_REGION_PAGES * PT_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct stat st;
	char *many;
	int fd, i;

	if (r == MAP_FAILED)
		fail("mmap region");
	info.region = (uintptr_t)r;
	map_fixed(r + PT_ANON_OFF * PT_PAGE, PT_ANON_PAGES * PT_PAGE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(r + PT_ANON_OFF * PT_PAGE, 1, PT_PAGE);
	map_fixed(r + PT_SHANON_OFF * PT_PAGE, PT_SHANON_PAGES * PT_PAGE, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	fd = memfd_create("pc-memfd", 0);
	if (fd < 0 || ftruncate(fd, PT_MEMFD_PAGES * PT_PAGE) < 0 || fstat(fd, &st) < 0)
		fail("memfd");
	info.memfd_dev = st.st_dev;
	info.memfd_ino = st.st_ino;
	map_fixed(r + PT_MEMFD_OFF * PT_PAGE, PT_MEMFD_PAGES * PT_PAGE, PROT_READ | PROT_WRITE,
		  MAP_SHARED, fd, 0);
	close(fd);
	fd = make_file(PT_MAP_FILE, 3 * PT_PAGE);
	map_fixed(r + PT_FILE_OFF * PT_PAGE, PT_FILE_PAGES * PT_PAGE, PROT_READ, MAP_PRIVATE, fd,
		  PT_PAGE);
	close(fd);
	fd = make_file(PT_SHARED_FILE, PT_PAGE);
	map_fixed(r + PT_SHFILE_OFF * PT_PAGE, PT_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	map_fixed(r + PT_DD_OFF * PT_PAGE, PT_PAGE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (madvise(r + PT_DD_OFF * PT_PAGE, PT_PAGE, MADV_DONTDUMP) < 0 ||
	    madvise(r + PT_DD_OFF * PT_PAGE, PT_PAGE, MADV_DONTFORK) < 0)
		fail("madvise");
	many = mmap(NULL, PT_MANY * PT_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (many == MAP_FAILED)
		fail("mmap many");
	for (i = 1; i < PT_MANY; i += 2)
		if (mprotect(many + i * PT_PAGE, PT_PAGE, PROT_READ) < 0)
			fail("mprotect many");
	info.many = (uintptr_t)many;
}

static void make_files(void)
{
	int fd = open(PT_DATA_FILE, O_RDWR | O_CREAT | O_APPEND | O_TRUNC, 0644);

	if (fd < 0 || write(fd, "x", 1) != 1 || lseek(fd, PT_DATA_POS, SEEK_SET) < 0 ||
	    dup2(fd, PT_FD_APPEND) < 0)
		fail("data file");
	close(fd);
	fd = open(PT_DATA_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || dup3(fd, PT_FD_CLOEXEC, O_CLOEXEC) < 0)
		fail("data file cloexec");
	close(fd);
	fd = open("/dev/null", O_WRONLY);
	if (fd < 0 || dup2(fd, PT_FD_NULL) < 0)
		fail("/dev/null");
	close(fd);
}

static void *worker(void *arg)
{
	int i = (int)(intptr_t)arg;
	char name[16];

	snprintf(name, sizeof(name), "pc-worker-%c", 'a' + i);
	pthread_setname_np(pthread_self(), name);
	info.worker_tid[i] = (int32_t)gettid();
	pthread_barrier_wait(&barrier);
	sleep_forever();
	return NULL;
}

static void start_threads(void)
{
	pthread_t t;
	int i;

	pthread_barrier_init(&barrier, NULL, 3);
	for (i = 0; i < 2; i++)
		if (pthread_create(&t, NULL, worker, (void *)(intptr_t)i))
			fail("pthread_create");
	pthread_barrier_wait(&barrier);
}

static int timer_make(clockid_t clock, int notify, int signo, uint64_t val, pid_t tid)
{
	struct sigevent ev;
	int id;

	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = notify;
	ev.sigev_signo = signo;
	ev.sigev_value.sival_ptr = (void *)(uintptr_t)val;
	ev._sigev_un._tid = tid;
	if (syscall(SYS_timer_create, clock, &ev, &id) < 0)
		fail("timer_create");
	return id;
}

static void make_timers(void)
{
	struct itimerspec its = { .it_value = { 1000, 0 } };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	info.timer_id[0] = timer_make(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, PT_SIGVAL1, 0);
	info.timer_id[1] = timer_make(CLOCK_REALTIME, SIGEV_THREAD_ID, SIGUSR2, PT_SIGVAL2,
				      info.worker_tid[0]);
	info.timer_id[2] = timer_make(CLOCK_BOOTTIME, SIGEV_NONE, SIGALRM, 0, 0);
	if (syscall(SYS_timer_settime, info.timer_id[0], 0, &its, NULL) < 0)
		fail("timer_settime");
}

static void mode_main(char **argv)
{
	int ready[2], i;
	int32_t pid;

	info.arg0 = (uintptr_t)argv[0];
	info.env0 = environ && environ[0] ? (uintptr_t)environ[0] : 0;
	info.entry = getauxval(AT_ENTRY);
	info.code_addr = (uintptr_t)mode_main;
	info.data_addr = (uintptr_t)&initialized_data;
	set_process_state(argv[2]);
	if (pipe(ready) < 0)
		fail("pipe");
	fork_group_children(ready);
	close(ready[1]);
	if (read(ready[0], &pid, 4) != 4)
		fail("children not ready");
	close(ready[0]);
	info.sock_pid = pid;
	make_zombie();
	make_mappings();
	make_files();
	start_threads();
	make_timers();
	for (i = 0; i < RLIM_NLIMITS; i++)
		getrlimit(i, &info.rl[i]);
	report_and_wait();
}

/* ---- mode gone: the orphan's process group leader has exited ---- */

static void *idle_thread(void *arg)
{
	(void)arg;
	sleep_forever();
	return NULL;
}

/* A child whose main thread exits, leaving one thread: a zombie leader. */
static void fork_exited_leader(void)
{
	char path[64], buf[256], *rp;
	pthread_t t;
	int i, fd;
	ssize_t n;
	pid_t l = fork();

	if (l == 0) {
		close(3);
		if (pthread_create(&t, NULL, idle_thread, NULL))
			_exit(3);
		syscall(SYS_exit, 0);  /* this thread only */
	}
	if (l < 0)
		fail("fork exited leader");
	snprintf(path, sizeof(path), "/proc/%d/stat", l);
	for (i = 0; i < 5000; i++, usleep(1000)) {
		fd = open(path, O_RDONLY);
		n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (fd >= 0)
			close(fd);
		buf[n > 0 ? n : 0] = '\0';
		rp = strrchr(buf, ')');
		if (rp && rp[1] == ' ' && rp[2] == 'Z')
			break;
	}
	if (i == 5000)
		fail("leader of %d did not exit", l);
	info.exited_leader = l;
}

static void mode_gone(void)
{
	int ready[2];
	int32_t pid;
	pid_t d;

	if (pipe(ready) < 0)
		fail("pipe");
	d = fork();
	if (d == 0) {
		close(3);
		if (setpgid(0, 0) < 0)
			_exit(3);
		if (fork() == 0) {
			if (write(ready[1], &(int32_t){ getpid() }, 4) != 4)
				_exit(3);
			sleep_forever();
		}
		_exit(0);
	}
	close(ready[1]);
	if (d < 0 || waitpid(d, NULL, 0) != d || read(ready[0], &pid, 4) != 4)
		fail("gone children");
	info.orphan_pid = pid;
	info.dead_leader = d;
	close(ready[0]);
	fork_exited_leader();
	report_and_wait();
}

/* ---- mode nested: a grandchild in a nested PID namespace ---- */

static void mode_nested(void)
{
	int ready[2];
	char c;
	pid_t n;

	if (pipe(ready) < 0)
		fail("pipe");
	n = fork();
	if (n == 0) {
		close(3);
		if (unshare(CLONE_NEWPID) < 0)
			_exit(3);
		if (fork() == 0) {
			if (write(ready[1], "x", 1) != 1)
				_exit(3);
			sleep_forever();
		}
		sleep_forever();
	}
	close(ready[1]);
	if (n < 0 || read(ready[0], &c, 1) != 1)
		fail("nested children");
	report_and_wait();
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	syscall(SYS_close_range, 4, ~0u, 0);
	if (setsid() < 0)
		fail("setsid");
	stdio_to_null();
	if (!strcmp(argv[1], "main"))
		mode_main(argv);
	else if (!strcmp(argv[1], "gone"))
		mode_gone();
	else if (!strcmp(argv[1], "nested"))
		mode_nested();
	fail("unknown mode %s", argv[1]);
	return 1;
}

/*
 * attrs.c - per-process attributes survive checkpoint/restore.
 *
 * - rlimits: several lowered (NOFILE, NPROC, MSGQUEUE, CPU, FSIZE, MEMLOCK,
 *   CORE, STACK soft); all 16 must read back as they were.
 * - cwd: a directory with a space and UTF-8 in its name; getcwd() and a
 *   relative open of a marker file there.
 * - umask 027 (checked, and a new file gets mode 0640).
 * - personality ADDR_NO_RANDOMIZE|UNAME26 (uname must then say 2.6.x).
 * - names: PR_SET_NAME of the process and two threads, checked with
 *   PR_GET_NAME in each thread and /proc/self/task/TID/comm, and a child
 *   process with its own name.
 */
#include <stdatomic.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "check.h"

static struct rlimit lim[RLIM_NLIMITS];
static char cwd[4096];
static const char *marker = "marker-file";
static unsigned long pers;
static atomic_int gen = -1, acks;

static void set_lim(int r, rlim_t cur, rlim_t max)
{
	struct rlimit l;

	getrlimit(r, &l);
	if (max < l.rlim_max)
		l.rlim_max = max;
	l.rlim_cur = cur < l.rlim_max ? cur : l.rlim_max;
	if (setrlimit(r, &l) < 0)
		ck_die("setrlimit %d", r);
}

static void check_name(const char *want)
{
	char name[17] = "", path[64], comm[32] = "";
	int fd;
	ssize_t len;

	prctl(PR_GET_NAME, name);
	CK(!strcmp(name, want), "thread %d: name '%s', want '%s'", gettid(), name, want);
	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", gettid());
	fd = open(path, O_RDONLY);
	len = fd >= 0 ? read(fd, comm, sizeof(comm) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (len > 0 && comm[len - 1] == '\n')
		comm[len - 1] = '\0';
	CK(!strcmp(comm, want), "%s: comm '%s', want '%s'", path, comm, want);
}

static void *named(void *arg)
{
	int seen = -1;

	prctl(PR_SET_NAME, arg);
	for (;;) {
		while (atomic_load(&gen) == seen)
			ck_sleep_us(1000);
		seen = atomic_load(&gen);
		check_name(arg);
		atomic_fetch_add(&acks, 1);
	}
	return NULL;
}

static void check_all(void)
{
	char buf[4096], data[32] = "";
	struct utsname u;
	struct stat st;
	mode_t old;
	int fd;

	for (int r = 0; r < RLIM_NLIMITS; r++) {
		struct rlimit l;

		getrlimit(r, &l);
		CK(l.rlim_cur == lim[r].rlim_cur && l.rlim_max == lim[r].rlim_max,
		   "rlimit %d: %llu/%llu, want %llu/%llu", r, (unsigned long long)l.rlim_cur,
		   (unsigned long long)l.rlim_max, (unsigned long long)lim[r].rlim_cur,
		   (unsigned long long)lim[r].rlim_max);
	}
	CK(getcwd(buf, sizeof(buf)) && !strcmp(buf, cwd), "cwd '%s', want '%s'", buf, cwd);
	fd = open(marker, O_RDONLY);
	CK(fd >= 0 && read(fd, data, sizeof(data) - 1) > 0 && !strcmp(data, "here"),
	   "relative open of %s in the cwd: %s", marker, fd < 0 ? strerror(errno) : data);
	if (fd >= 0)
		close(fd);
	old = umask(027);
	CK(old == 027, "umask %03o, want 027", old);
	unlink("new-file");
	fd = open("new-file", O_CREAT | O_WRONLY, 0666);
	CK(fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0640,
	   "new file mode %03o, want 640", st.st_mode & 0777);
	if (fd >= 0)
		close(fd);
	CK((unsigned long)personality(0xffffffff) == pers, "personality 0x%x, want 0x%lx",
	   personality(0xffffffff), pers);
	uname(&u);
	CK(!strncmp(u.release, "2.6.", 4), "uname release '%s' under UNAME26", u.release);
	check_name("attr-main");
}

int main(int argc, char **argv)
{
	char dir[4096];
	pthread_t t;
	pid_t kid;
	int fd;

	ck_init(argc, argv);
	set_lim(RLIMIT_NOFILE, 777, 1777);
	set_lim(RLIMIT_NPROC, 555, 5555);
	set_lim(RLIMIT_MSGQUEUE, 12345, 123456);
	set_lim(RLIMIT_CPU, 100000, 200000);
	set_lim(RLIMIT_FSIZE, 1ull << 40, 1ull << 41);
	set_lim(RLIMIT_MEMLOCK, 65536, 131072);
	set_lim(RLIMIT_CORE, 0, 4096);
	set_lim(RLIMIT_STACK, 6 << 20, RLIM_INFINITY);
	for (int r = 0; r < RLIM_NLIMITS; r++)
		getrlimit(r, &lim[r]);
	snprintf(dir, sizeof(dir), "%s/cwd dir \xe2\x9c\x93", ck_dir);
	if (mkdir(dir, 0755) < 0 || chdir(dir) < 0 || !getcwd(cwd, sizeof(cwd)))
		ck_die("cwd %s", dir);
	fd = open(marker, O_CREAT | O_WRONLY, 0644);
	if (fd < 0 || write(fd, "here", 4) != 4)
		ck_die("marker");
	close(fd);
	umask(027);
	if (personality(ADDR_NO_RANDOMIZE | UNAME26) < 0)
		ck_die("personality");
	pers = (unsigned long)personality(0xffffffff);
	prctl(PR_SET_NAME, "attr-main");
	if (pthread_create(&t, NULL, named, "attr-t1") || pthread_create(&t, NULL, named, "attr-t2"))
		ck_die("pthread_create");
	kid = fork();
	if (kid == 0) {
		prctl(PR_SET_NAME, "attr-kid");
		for (int n = 0;; n++) {
			ck_wait_go(n);
			check_name("attr-kid");
			ck_child_report("kid", n);
		}
	}
	ck_sleep_us(20000);
	ck_ready();
	for (int n = 0;; n++) {

		ck_wait_go(n);
		atomic_store(&acks, 0);
		atomic_store(&gen, n);
		check_all();
		ck_wait_acks(&acks, 2, "named threads");
		ck_collect("kid", n, 5);
		ck_report(n);
	}
}

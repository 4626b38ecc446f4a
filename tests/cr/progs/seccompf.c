/*
 * seccompf.c - seccomp filters of the tree's own survive checkpoint/restore.
 *
 * The root sets no_new_privs and installs filter A (getpriority answers
 * EPERM), then starts a thread and forks a child; the child, which shares
 * A, adds filter B (uname answers EACCES).  After each cycle: the root and
 * its thread get EPERM from getpriority and a working uname; the child
 * gets EPERM from getpriority and EACCES from uname; /proc/self/status
 * counts 1 filter in the root and 2 in the child (none lost, none added),
 * plus BASE, the filters it started with (its box's: `seccompf DIR 1`).
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "check.h"

static void deny(long nr, int err)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(insns) / sizeof(insns[0]), insns };

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		ck_die("install a filter for syscall %ld", nr);
}

static int filters(void)
{
	char line[256];
	int n = -1;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Seccomp_filters: %d", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

/* errno of a call that must fail, 0 if it succeeded. */
static int err_of(long r)
{
	return r < 0 ? errno : 0;
}

static int base;   /* filters the program started with */

static void check(const char *who, int want_filters, int uname_err)
{
	struct utsname u;
	int prio;

	errno = 0;
	prio = getpriority(PRIO_PROCESS, 0);
	CK(prio == -1 && errno == EPERM, "%s: getpriority gave %d (errno %d), not EPERM", who,
	   prio, errno);
	CK(err_of(uname(&u)) == uname_err, "%s: uname errno %d, want %d", who, errno, uname_err);
	CK(filters() == base + want_filters, "%s: %d seccomp filters, want %d", who, filters(),
	   base + want_filters);
}

static atomic_int thread_round = -1;

static void *thread_main(void *arg)
{
	(void)arg;
	for (;;) {
		int n = atomic_load(&thread_round);

		if (n >= 0) {
			check("thread", 1, 0);
			atomic_store(&thread_round, -1);
		}
		ck_sleep_us(1000);
	}
	return NULL;
}

static void __attribute__((noreturn)) child(void)
{
	deny(SYS_uname, EACCES);
	check("child", 2, EACCES);
	ck_child_report("child", -1);
	for (int n = 0;; n++) {
		ck_wait_go(n);
		check("child", 2, EACCES);
		ck_child_report("child", n);
	}
}

int main(int argc, char **argv)
{
	pthread_t t;
	pid_t p;

	ck_init(argc, argv);
	base = argc > 2 ? atoi(argv[2]) : 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		ck_die("no_new_privs");
	deny(SYS_getpriority, EPERM);
	if (pthread_create(&t, NULL, thread_main, NULL) != 0)
		ck_die("pthread_create");
	if ((p = fork()) == 0)
		child();
	if (p < 0)
		ck_die("fork");
	ck_collect("child", -1, 5);
	check("root", 1, 0);
	if (ck_report(-1) < 0)
		exit(2);
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		check("root", 1, 0);
		atomic_store(&thread_round, n);
		while (atomic_load(&thread_round) >= 0)
			ck_sleep_us(1000);
		ck_collect("child", n, 5);
		ck_report(n);
	}
}

/*
 * proctree.c - a process tree survives checkpoint/restore.
 *
 * The root (pid 1 of the namespace, session and group leader) builds:
 *   A   setsid(): its own session;  G, A's child, in a new group of A's
 *       session;  GG, G's child, in G's group
 *   B   a plain child in the root's group
 *   C   a new group in the root's session;  D, the root's child, joins C's
 *       group (a group whose leader is another process)
 *   E   an orphan: its parent exited, so it was reparented to the root
 *   Z   a zombie: exited with a known status and never reaped
 * Each process checks after every cycle that its pid, ppid, pgid, sid and
 * name are what they were.  The root checks the zombie with waitid(WNOWAIT)
 * and reaps it with waitpid (status must match), then makes a fresh zombie
 * with another status for the next cycle.
 */
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "check.h"

struct ids { pid_t pid, ppid, pgid, sid; char name[16]; };

static struct ids ids_now(void)
{
	struct ids s = { getpid(), getppid(), getpgrp(), getsid(0), "" };

	prctl(PR_GET_NAME, s.name);
	return s;
}

static void ids_check(const struct ids *want)
{
	struct ids got = ids_now();

	CK(got.pid == want->pid, "%s: pid %d, was %d", want->name, got.pid, want->pid);
	CK(got.ppid == want->ppid, "%s: ppid %d, was %d", want->name, got.ppid, want->ppid);
	CK(got.pgid == want->pgid, "%s: pgid %d, was %d", want->name, got.pgid, want->pgid);
	CK(got.sid == want->sid, "%s: sid %d, was %d", want->name, got.sid, want->sid);
	CK(!strcmp(got.name, want->name), "%s: comm '%s'", want->name, got.name);
}

/* The life of every non-root member: check itself at each go.N. */
static void __attribute__((noreturn)) member(const char *who)
{
	struct ids me;

	prctl(PR_SET_NAME, who);
	me = ids_now();
	ck_child_report(who, -1);	/* set up */
	for (int n = 0;; n++) {
		ck_wait_go(n);
		ids_check(&me);
		ck_child_report(who, n);
	}
}

static pid_t zombie;

/* A child that exits with status code(n) and stays unreaped. */
static int zcode(int n) { return 40 + n % 80; }

static void make_zombie(int n)
{
	siginfo_t si = { 0 };

	zombie = fork();
	if (zombie < 0)
		ck_die("fork zombie");
	if (zombie == 0)
		_exit(zcode(n));
	/* Wait until it has exited, without reaping it. */
	if (waitid(P_PID, (id_t)zombie, &si, WEXITED | WNOWAIT) < 0)
		ck_die("waitid zombie");
}

static void check_zombie(int n)
{
	siginfo_t si = { 0 };
	int st = 0;
	pid_t r;

	r = (pid_t)waitid(P_PID, (id_t)zombie, &si, WEXITED | WNOWAIT | WNOHANG);
	CK(r == 0 && si.si_pid == zombie && si.si_code == CLD_EXITED &&
	   si.si_status == zcode(n),
	   "zombie %d: waitid gives r=%d pid %d code %d status %d, want status %d",
	   zombie, r, si.si_pid, si.si_code, si.si_status, zcode(n));
	r = waitpid(zombie, &st, WNOHANG);
	CK(r == zombie && WIFEXITED(st) && WEXITSTATUS(st) == zcode(n),
	   "zombie %d: waitpid gives %d status 0x%x, want exit %d (%s)",
	   zombie, r, st, zcode(n), r < 0 ? strerror(errno) : "");
}

static pid_t spawn(void (*fn)(void))
{
	pid_t p = fork();

	if (p < 0)
		ck_die("fork");
	if (p == 0)
		fn();
	return p;
}

static void run_gg(void) { member("pt-GG"); }

static void run_g(void)
{
	if (setpgid(0, 0) < 0)
		ck_die("G setpgid");
	spawn(run_gg);
	member("pt-G");
}

static void run_a(void)
{
	if (setsid() < 0)
		ck_die("A setsid");
	spawn(run_g);
	member("pt-A");
}

static void run_b(void) { member("pt-B"); }
static void run_c(void)
{
	if (setpgid(0, 0) < 0)
		ck_die("C setpgid");
	member("pt-C");
}
static void run_e(void)
{
	while (getppid() != 1)       /* until reparented to the root */
		ck_sleep_us(1000);
	member("pt-E");
}

static pid_t pid_c;

static void run_d(void)
{
	if (setpgid(0, pid_c) < 0)
		ck_die("D setpgid into C's group");
	member("pt-D");
}

static void run_e_parent(void)
{
	spawn(run_e);
	_exit(0);
}

static const char *const members[] = {
	"pt-A", "pt-G", "pt-GG", "pt-B", "pt-C", "pt-D", "pt-E",
};

int main(int argc, char **argv)
{
	struct ids root;
	pid_t ep;

	ck_init(argc, argv);
	if (getpid() != 1)
		ck_die("must run as pid 1 of a namespace (cr spawn)");
	prctl(PR_SET_NAME, "pt-root");
	spawn(run_a);
	spawn(run_b);
	pid_c = spawn(run_c);
	if (setpgid(pid_c, pid_c) < 0 && errno != EACCES)
		ck_die("setpgid C");
	spawn(run_d);
	ep = spawn(run_e_parent);
	if (waitpid(ep, NULL, 0) != ep)
		ck_die("reap E's parent");
	make_zombie(0);
	root = ids_now();
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		ck_collect(members[i], -1, 5);
	if (ck_report(-1) < 0)
		exit(2);
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		ids_check(&root);
		CK(getpid() == 1, "root is pid %d, not 1", getpid());
		check_zombie(n);
		for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
			ck_collect(members[i], n, 5);
		make_zombie(n + 1);
		ck_report(n);
	}
}

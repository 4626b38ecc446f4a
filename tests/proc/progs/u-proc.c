/*
 * u-proc.c - unit test of the /proc readers (src/cr/proc.h).  Starts
 * proc-target as pid 1 of fresh PID+mount namespaces in three modes and
 * checks every field the readers return against the state the target set
 * up (and reported over a pipe), and the errors for what is unsupported.
 * Exit 0: pass, 1: fail, 77: cannot run here.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <elf.h>

#include "common/err.h"
#include "cr/nsinit.h"
#include "cr/proc.h"
#include "proc-target.h"

static int failures;
static char workdir[1024], target[PATH_MAX];   /* short workdir: room for names */

#define CHECK(cond, ...) check((cond), __LINE__, #cond, __VA_ARGS__)

static void check(int ok, int line, const char *expr, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return;
	failures++;
	fprintf(stderr, "FAIL line %d (%s): ", line, expr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* An API call that must succeed; on failure prints err_msg(). */
#define MUST(call) must((call), __LINE__, #call)

static int must(int rc, int line, const char *expr)
{
	if (rc == 0)
		return 1;
	failures++;
	fprintf(stderr, "FAIL line %d: %s: %s\n", line, expr, err_msg());
	return 0;
}

/* An API call that must fail with a message containing each of the
 * NULL-terminated strings. */
static void expect_error(int rc, int line, const char *what, ...)
{
	const char *s;
	va_list ap;

	if (rc == 0) {
		failures++;
		fprintf(stderr, "FAIL line %d: %s succeeded, expected an error\n", line, what);
		return;
	}
	va_start(ap, what);
	while ((s = va_arg(ap, const char *))) {
		if (!strstr(err_msg(), s)) {
			failures++;
			fprintf(stderr, "FAIL line %d: %s: error \"%s\" lacks \"%s\"\n", line, what,
				err_msg(), s);
		}
	}
	va_end(ap);
}

/* ---- launching the target ---- */

struct tree {
	pid_t init;                    /* host pid */
	struct pt_info info;
};

static void child_exec(const char *mode, int wfd)
{
	if (unshare(CLONE_NEWNS) < 0 || ns_setup_mounts() < 0) {
		fprintf(stderr, "child: namespace set-up: %s %s\n", strerror(errno), err_msg());
		_exit(126);
	}
	if (wfd != 3 && dup2(wfd, 3) < 0)
		_exit(126);
	execl(target, target, mode, workdir, (char *)NULL);
	_exit(127);
}

/* Start proc-target MODE as pid 1 of new namespaces and read its report. */
static int launch(const char *mode, struct tree *t)
{
	int p[2];
	size_t got = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0) {
		if (errno == EPERM || errno == EINVAL) {
			printf("cannot create a PID namespace here: %s\n", strerror(errno));
			exit(77);
		}
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		child_exec(mode, p[1]);
	}
	close(p[1]);
	t->init = pid;
	while (got < sizeof(t->info) &&
	       (r = read(p[0], (char *)&t->info + got, sizeof(t->info) - got)) > 0)
		got += (size_t)r;
	close(p[0]);
	if (got != sizeof(t->info) || t->info.err[0]) {
		fprintf(stderr, "FAIL: target %s did not start: %s\n", mode,
			got == sizeof(t->info) ? t->info.err : "short report");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return 0;
}

static void stop_tree(struct tree *t)
{
	kill(t->init, SIGKILL);
	waitpid(t->init, NULL, 0);
}

/* ---- the main tree ---- */

struct main_tree {
	struct tree t;
	pid_t *pids;                   /* proc_tree_list() */
	size_t n;
	struct cr_proc procs[8];
};

static pid_t host_of(struct main_tree *m, int32_t ns_pid)
{
	size_t i;

	for (i = 0; i < m->n && i < 8; i++)
		if (m->procs[i].pid == ns_pid)
			return m->pids[i];
	return -1;
}

static struct cr_proc *proc_of(struct main_tree *m, int32_t ns_pid)
{
	size_t i;

	for (i = 0; i < m->n && i < 8; i++)
		if (m->procs[i].pid == ns_pid)
			return &m->procs[i];
	return NULL;
}

static void check_tree(struct main_tree *m)
{
	size_t i, j;
	pid_t ns;

	if (!MUST(proc_tree_list(m->t.init, &m->pids, &m->n)))
		return;
	CHECK(m->n == 4, "tree has %zu processes, want 4 (init, group, sock, zombie)", m->n);
	CHECK(m->n && m->pids[0] == m->t.init, "init is not first");
	for (i = 0; i < m->n && i < 8; i++) {
		MUST(proc_read_proc(m->pids[i], &m->procs[i]));
		MUST(proc_ns_pid(m->pids[i], &ns));
		CHECK(ns == m->procs[i].pid, "proc_ns_pid %d != proc_read_proc pid %d", ns,
		      m->procs[i].pid);
	}
	for (i = 1; i < m->n && i < 8; i++) {
		for (j = 0; j < i && m->procs[j].pid != m->procs[i].ppid; j++)
			;
		CHECK(j < i, "pid %d listed before its parent %d", m->procs[i].pid, m->procs[i].ppid);
	}
}

static void check_init_ids_creds(struct cr_proc *p)
{
	CHECK(p->pid == 1 && p->ppid == 0 && p->pgid == 1 && p->sid == 1,
	      "init ids %d %d %d %d", p->pid, p->ppid, p->pgid, p->sid);
	CHECK(!p->zombie && p->exit_code == 0 && p->exit_signal == SIGCHLD,
	      "init zombie %u exit_code %d exit_signal %d", p->zombie, p->exit_code, p->exit_signal);
	CHECK(!strcmp(p->comm, "pc-init"), "init comm '%s'", p->comm);
	CHECK(p->umask == 027, "umask %o", p->umask);
	CHECK(p->personality == (PER_LINUX | ADDR_NO_RANDOMIZE), "personality %#x", p->personality);
	CHECK(p->cwd && !strcmp(p->cwd, workdir), "cwd '%s', want '%s'", p->cwd, workdir);
	CHECK(p->root && !strcmp(p->root, "/"), "root '%s'", p->root);
	CHECK(p->creds.uid == 0 && p->creds.euid == 0 && p->creds.suid == 0 && p->creds.fsuid == 0,
	      "uids %u %u %u %u", p->creds.uid, p->creds.euid, p->creds.suid, p->creds.fsuid);
	CHECK(p->creds.gid == 0 && p->creds.egid == 5 && p->creds.sgid == 0 && p->creds.fsgid == 5,
	      "gids %u %u %u %u", p->creds.gid, p->creds.egid, p->creds.sgid, p->creds.fsgid);
	CHECK(p->creds.nr_groups == 3 && p->creds.groups[0] == 1 && p->creds.groups[1] == 2 &&
	      p->creds.groups[2] == 3, "groups: %u of them", p->creds.nr_groups);
	CHECK(!(p->creds.cap_bnd & (1ull << 22)) && (p->creds.cap_bnd & (1ull << 21)),
	      "cap_bnd %#llx (want SYS_ADMIN, not SYS_BOOT)", (unsigned long long)p->creds.cap_bnd);
	CHECK(p->creds.cap_eff == p->creds.cap_prm && (p->creds.cap_eff & (1ull << 21)),
	      "cap_eff %#llx cap_prm %#llx", (unsigned long long)p->creds.cap_eff,
	      (unsigned long long)p->creds.cap_prm);
	CHECK(p->creds.cap_inh == 0 && p->creds.cap_amb == 0, "cap_inh/cap_amb not 0");
	CHECK(p->creds.no_new_privs == 1 && p->creds.securebits == 0, "nnp %u securebits %u",
	      p->creds.no_new_privs, p->creds.securebits);
}

static void check_init_limits(struct cr_proc *p, const struct pt_info *in)
{
	int i;

	CHECK(p->rlimits[RLIMIT_NOFILE].cur == 100 && p->rlimits[RLIMIT_NOFILE].max == 200,
	      "NOFILE %llu/%llu", (unsigned long long)p->rlimits[RLIMIT_NOFILE].cur,
	      (unsigned long long)p->rlimits[RLIMIT_NOFILE].max);
	for (i = 0; i < RLIM_NLIMITS && i < CR_NR_RLIMITS; i++)
		CHECK(p->rlimits[i].cur == (uint64_t)in->rl[i].rlim_cur &&
		      p->rlimits[i].max == (uint64_t)in->rl[i].rlim_max,
		      "rlimit %d: %llu/%llu, want %llu/%llu", i,
		      (unsigned long long)p->rlimits[i].cur, (unsigned long long)p->rlimits[i].max,
		      (unsigned long long)in->rl[i].rlim_cur, (unsigned long long)in->rl[i].rlim_max);
}

static uint64_t auxv_get(const struct cr_mm *mm, uint64_t type, int *found)
{
	uint32_t i;

	*found = 0;
	for (i = 0; i + 1 < mm->nr_auxv; i += 2) {
		if (mm->auxv[i] == type) {
			*found = 1;
			return mm->auxv[i + 1];
		}
	}
	return 0;
}

static void check_init_mm(struct cr_proc *p, const struct pt_info *in)
{
	const struct cr_mm *mm = &p->mm;
	char exe[PATH_MAX];
	int found;

	CHECK(mm->start_code <= in->code_addr && in->code_addr < mm->end_code,
	      "code %#llx not in [%#llx, %#llx)", (unsigned long long)in->code_addr,
	      (unsigned long long)mm->start_code, (unsigned long long)mm->end_code);
	CHECK(mm->start_data <= in->data_addr && in->data_addr < mm->end_data,
	      "data %#llx not in [%#llx, %#llx)", (unsigned long long)in->data_addr,
	      (unsigned long long)mm->start_data, (unsigned long long)mm->end_data);
	CHECK(mm->arg_start == in->arg0 && mm->arg_end > mm->arg_start,
	      "arg_start %#llx want %#llx", (unsigned long long)mm->arg_start,
	      (unsigned long long)in->arg0);
	CHECK(mm->env_start == in->env0 && mm->env_end > mm->env_start,
	      "env_start %#llx want %#llx", (unsigned long long)mm->env_start,
	      (unsigned long long)in->env0);
	CHECK(mm->start_brk >= mm->end_data && mm->brk == 0, "start_brk %#llx brk %#llx",
	      (unsigned long long)mm->start_brk, (unsigned long long)mm->brk);
	CHECK(mm->nr_auxv >= 4 && mm->nr_auxv % 2 == 0 && mm->auxv[mm->nr_auxv - 2] == AT_NULL,
	      "auxv: %u words, not ending with AT_NULL", mm->nr_auxv);
	CHECK(auxv_get(mm, AT_PAGESZ, &found) == 4096 && found, "AT_PAGESZ");
	CHECK(auxv_get(mm, AT_ENTRY, &found) == in->entry && found, "AT_ENTRY");
	CHECK(realpath(target, exe) && mm->exe_path && !strcmp(mm->exe_path, exe),
	      "exe_path '%s'", mm->exe_path);
}

static void check_children(struct main_tree *m)
{
	const struct pt_info *in = &m->t.info;
	struct cr_proc *g = proc_of(m, in->grp_pid), *s = proc_of(m, in->sock_pid);
	struct cr_proc *z = proc_of(m, in->zombie_pid);

	CHECK(g && g->ppid == 1 && g->pgid == in->grp_pid && g->sid == 1 && !g->zombie &&
	      !strcmp(g->comm, "pc-grp"), "group child %d", in->grp_pid);
	CHECK(s && s->ppid == in->grp_pid && s->pgid == in->grp_pid && s->sid == 1 &&
	      !strcmp(s->comm, "pc-sock"), "socket child %d", in->sock_pid);
	CHECK(z && z->zombie == 1 && z->exit_code == (3 << 8) && z->exit_signal == SIGCHLD &&
	      z->ppid == 1 && z->pgid == 1 && z->sid == 1 && !strcmp(z->comm, "pc-zombie"),
	      "zombie %d: zombie %u exit_code %#x exit_signal %d comm '%s'", in->zombie_pid,
	      z ? z->zombie : 0, z ? z->exit_code : 0, z ? z->exit_signal : 0, z ? z->comm : "");
	CHECK(z && !z->cwd && !z->mm.exe_path, "zombie has paths");
}

static const char *thread_name(const struct pt_info *in, int32_t tid)
{
	if (tid == 1)
		return "pc-init";
	if (tid == in->worker_tid[0])
		return "pc-worker-a";
	if (tid == in->worker_tid[1])
		return "pc-worker-b";
	return NULL;
}

static void check_threads(struct main_tree *m)
{
	const struct pt_info *in = &m->t.info;
	const char *want;
	struct cr_thread th;
	unsigned seen = 0;
	pid_t *tids;
	size_t n, i;

	if (!MUST(proc_threads(m->t.init, &tids, &n)))
		return;
	CHECK(n == 3 && tids[0] == m->t.init, "%zu threads, first %d", n, tids[0]);
	for (i = 0; i < n; i++) {
		memset(&th, 0, sizeof(th));
		if (!MUST(proc_read_thread(m->t.init, tids[i], &th)))
			continue;
		want = thread_name(in, th.tid);
		CHECK(want && !strcmp(th.comm, want), "thread %d: comm '%s' want '%s'", th.tid,
		      th.comm, want ? want : "(unknown tid)");
		CHECK(i > 0 || th.tid == 1, "leader tid %d", th.tid);
		seen |= th.tid == 1 ? 1 : th.tid == in->worker_tid[0] ? 2 : 4;
	}
	CHECK(seen == 7, "threads seen mask %#x", seen);
	free(tids);
}

/* ---- vmas ---- */

static const struct cr_vma *vma_at(const struct cr_vma *v, uint32_t n, uint64_t addr)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (v[i].start <= addr && addr < v[i].end)
			return &v[i];
	return NULL;
}

static void check_vma(const struct cr_vma *v, uint32_t n, uint64_t start, uint64_t pages,
		      uint32_t prot, uint32_t kind, uint32_t flags, const char *what)
{
	const struct cr_vma *x = vma_at(v, n, start);

	CHECK(x != NULL, "%s: no vma at %#llx", what, (unsigned long long)start);
	if (!x)
		return;
	CHECK(x->start == start && x->end == start + pages * PT_PAGE, "%s: range %#llx-%#llx", what,
	      (unsigned long long)x->start, (unsigned long long)x->end);
	CHECK(x->prot == prot && x->kind == kind && x->flags == flags,
	      "%s: prot %u kind %u flags %#x, want %u %u %#x", what, x->prot, x->kind, x->flags,
	      prot, kind, flags);
	CHECK(x->shmem_id == 0 && x->nr_runs == 0 && !x->runs, "%s: shmem_id/runs set", what);
}

/* A file the target created: path, identity, size, mtime. */
static void check_vma_file(const struct cr_vma *v, uint32_t n, uint64_t start, const char *name,
			   uint64_t pgoff)
{
	const struct cr_vma *x = vma_at(v, n, start);
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", workdir, name);
	if (!x || stat(path, &st) < 0) {
		CHECK(0, "%s: no vma or no file", name);
		return;
	}
	CHECK(x->path && !strcmp(x->path, path), "%s: path '%s'", name, x->path);
	CHECK(x->dev == st.st_dev && x->ino == st.st_ino, "%s: dev/ino", name);
	CHECK(x->file_size == (uint64_t)st.st_size, "%s: size %llu", name,
	      (unsigned long long)x->file_size);
	CHECK(x->file_mtime_ns == (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
	      "%s: mtime", name);
	CHECK(x->pgoff == pgoff, "%s: pgoff %llu", name, (unsigned long long)x->pgoff);
}

static void check_special_vmas(const struct cr_vma *v, uint32_t n, const struct cr_proc *p)
{
	const struct cr_vma *stack = vma_at(v, n, p->mm.start_stack);
	uint32_t i, vdso = 0, vvar = 0;

	CHECK(stack && stack->kind == CR_VMA_ANON &&
	      stack->flags == (CR_VMA_F_STACK | CR_VMA_F_GROWSDOWN),
	      "start_stack not in a [stack] vma with STACK|GROWSDOWN");
	for (i = 0; i < n; i++) {
		vdso += v[i].kind == CR_VMA_VDSO;
		vvar += v[i].kind == CR_VMA_VVAR;
		CHECK(!(v[i].flags & CR_VMA_F_HEAP) || v[i].kind == CR_VMA_ANON, "heap kind");
		CHECK(i == 0 || v[i].start >= v[i - 1].end, "vmas %u and %u unsorted", i - 1, i);
		CHECK((v[i].kind == CR_VMA_FILE || v[i].kind == CR_VMA_FILE_SHARED) == !!v[i].path,
		      "vma %#llx: path only for files", (unsigned long long)v[i].start);
	}
	CHECK(vdso == 1 && vvar == 1, "%u [vdso], %u [vvar]", vdso, vvar);
}

static void check_many(const struct cr_vma *v, uint32_t n, uint64_t many)
{
	uint32_t i, cnt = 0, good = 0;

	for (i = 0; i < n; i++) {
		if (v[i].start < many || v[i].start >= many + PT_MANY * PT_PAGE)
			continue;
		cnt++;
		good += v[i].end - v[i].start == PT_PAGE && v[i].kind == CR_VMA_ANON &&
			v[i].prot == (((v[i].start - many) / PT_PAGE) % 2 ? PROT_READ
									 : PROT_READ | PROT_WRITE);
	}
	CHECK(cnt == PT_MANY && good == PT_MANY, "many: %u vmas, %u right, want %d", cnt, good,
	      PT_MANY);
}

static void check_vmas(struct main_tree *m)
{
	const struct pt_info *in = &m->t.info;
	const uint64_t r = in->region, pg = PT_PAGE, rw = PROT_READ | PROT_WRITE;
	const struct cr_vma *x;
	struct cr_vma *v;
	uint32_t n;

	if (!MUST(proc_read_vmas(m->t.init, &v, &n)))
		return;
	check_vma(v, n, r + PT_ANON_OFF * pg, PT_ANON_PAGES, rw, CR_VMA_ANON, 0, "anon");
	check_vma(v, n, r + PT_SHANON_OFF * pg, PT_SHANON_PAGES, rw, CR_VMA_SHMEM, CR_VMA_F_SHARED,
		  "shared anon");
	check_vma(v, n, r + PT_MEMFD_OFF * pg, PT_MEMFD_PAGES, rw, CR_VMA_SHMEM, CR_VMA_F_SHARED,
		  "memfd");
	check_vma(v, n, r + PT_FILE_OFF * pg, PT_FILE_PAGES, PROT_READ, CR_VMA_FILE, 0, "file");
	check_vma(v, n, r + PT_SHFILE_OFF * pg, 1, rw, CR_VMA_FILE_SHARED, CR_VMA_F_SHARED,
		  "shared file");
	check_vma(v, n, r + PT_DD_OFF * pg, 1, rw, CR_VMA_ANON,
		  CR_VMA_F_DONTDUMP | CR_VMA_F_DONTFORK, "dontdump");
	x = vma_at(v, n, r + PT_GUARD_OFF * pg);
	CHECK(x && x->prot == 0 && x->kind == CR_VMA_ANON && x->start == r + (PT_DD_OFF + 1) * pg,
	      "guard page vma");
	x = vma_at(v, n, r + PT_MEMFD_OFF * pg);
	CHECK(x && x->dev == in->memfd_dev && x->ino == in->memfd_ino &&
	      x->file_size == PT_MEMFD_PAGES * pg && x->pgoff == 0 && !x->path, "memfd identity");
	x = vma_at(v, n, r + PT_SHANON_OFF * pg);
	CHECK(x && x->ino != 0 && !x->path, "shared anon identity");
	check_vma_file(v, n, r + PT_FILE_OFF * pg, PT_MAP_FILE, pg);
	check_vma_file(v, n, r + PT_SHFILE_OFF * pg, PT_SHARED_FILE, 0);
	check_special_vmas(v, n, &m->procs[0]);
	check_many(v, n, in->many);
	proc_free_vmas(v, n);
}

/* ---- timers and fds ---- */

static void check_timers(struct main_tree *m)
{
	const struct pt_info *in = &m->t.info;
	struct cr_posix_timer *t;
	uint32_t n;

	if (!MUST(proc_read_timers(m->t.init, &t, &n)))
		return;
	CHECK(n == 3, "%u timers", n);
	if (n == 3) {
		CHECK(t[0].id < t[1].id && t[1].id < t[2].id, "timers not sorted by id");
		CHECK(t[0].id == in->timer_id[0] && t[0].clock == CLOCK_MONOTONIC &&
		      t[0].notify == SIGEV_SIGNAL && t[0].signo == SIGUSR1 &&
		      t[0].sigval == PT_SIGVAL1 && t[0].notify_tid == 0,
		      "timer 0: id %d clock %d notify %d signo %d sigval %#llx", t[0].id, t[0].clock,
		      t[0].notify, t[0].signo, (unsigned long long)t[0].sigval);
		CHECK(t[1].id == in->timer_id[1] && t[1].clock == CLOCK_REALTIME &&
		      t[1].notify == SIGEV_THREAD_ID && t[1].signo == SIGUSR2 &&
		      t[1].sigval == PT_SIGVAL2 && t[1].notify_tid == in->worker_tid[0],
		      "timer 1: notify %d tid %d want %d", t[1].notify, t[1].notify_tid,
		      in->worker_tid[0]);
		CHECK(t[2].id == in->timer_id[2] && t[2].clock == CLOCK_BOOTTIME &&
		      t[2].notify == SIGEV_NONE && t[2].signo == SIGALRM && t[2].sigval == 0,
		      "timer 2: notify %d", t[2].notify);
		CHECK(t[0].value_ns == 0 && t[0].interval_ns == 0, "timer values filled");
	}
	free(t);
}

static void check_fd(const struct proc_fd *f, int fd, uint32_t flags, uint32_t cloexec,
		     uint64_t pos, const char *link)
{
	const uint32_t mask = O_ACCMODE | O_APPEND | O_NONBLOCK | O_CLOEXEC;

	CHECK(f->fd == fd, "fd %d: fd %d", fd, f->fd);
	CHECK((f->flags & mask) == flags && f->cloexec == cloexec && f->pos == pos,
	      "fd %d: flags %#o cloexec %u pos %llu", fd, f->flags, f->cloexec,
	      (unsigned long long)f->pos);
	CHECK(f->link && !strcmp(f->link, link), "fd %d: link '%s'", fd, f->link);
	CHECK(f->fdinfo && strstr(f->fdinfo, "flags:"), "fd %d: no fdinfo text", fd);
}

/* The fd number whose link starts with prefix, -1 if none. */
static int find_link(const struct proc_fd *f, uint32_t n, const char *prefix)
{
	for (uint32_t i = 0; i < n; i++)
		if (!strncmp(f[i].link, prefix, strlen(prefix)))
			return f[i].fd;
	return -1;
}

static void check_fds(struct main_tree *m)
{
	const struct pt_info *in = &m->t.info;
	char data[PATH_MAX];
	struct proc_fd *f;
	uint32_t n;

	if (!MUST(proc_read_fds(m->t.init, &f, &n)))
		return;
	snprintf(data, sizeof(data), "%s/%s", workdir, PT_DATA_FILE);
	CHECK(n == 6, "%u fds, want 6", n);
	if (n == 6) {
		check_fd(&f[0], 0, O_RDWR, 0, 0, "/dev/null");
		check_fd(&f[1], 1, O_RDWR, 0, 0, "/dev/null");
		check_fd(&f[2], 2, O_RDWR, 0, 0, "/dev/null");
		check_fd(&f[3], PT_FD_APPEND, O_RDWR | O_APPEND, 0, PT_DATA_POS, data);
		check_fd(&f[4], PT_FD_CLOEXEC, O_RDONLY, 1, 0, data);
		check_fd(&f[5], PT_FD_NULL, O_WRONLY, 0, 0, "/dev/null");
	}
	proc_free_fds(f, n);

	if (MUST(proc_read_fds(host_of(m, in->grp_pid), &f, &n))) {
		CHECK(find_link(f, n, "pipe:[") == PT_FD_PIPE, "pipe holder: no pipe at fd %d",
		      PT_FD_PIPE);
		proc_free_fds(f, n);
	}
	if (MUST(proc_read_fds(host_of(m, in->sock_pid), &f, &n))) {
		CHECK(find_link(f, n, "socket:[") == PT_FD_SOCK, "socket holder: no socket at "
		      "fd %d", PT_FD_SOCK);
		proc_free_fds(f, n);
	}
}

static void check_zombie_files(struct main_tree *m)
{
	pid_t z = host_of(m, m->t.info.zombie_pid);
	struct cr_vma *v = NULL;
	uint32_t n = 99;

	if (MUST(proc_read_vmas(z, &v, &n)))
		CHECK(n == 0, "zombie has %u vmas", n);
	proc_free_vmas(v, n);
}

static void test_main(void)
{
	struct main_tree m;
	size_t i;

	memset(&m, 0, sizeof(m));
	if (launch("main", &m.t) < 0) {
		failures++;
		return;
	}
	check_tree(&m);
	if (m.n >= 1) {
		check_init_ids_creds(&m.procs[0]);
		check_init_limits(&m.procs[0], &m.t.info);
		check_init_mm(&m.procs[0], &m.t.info);
		check_children(&m);
		check_threads(&m);
		check_vmas(&m);
		check_timers(&m);
		check_fds(&m);
		check_zombie_files(&m);
	}
	for (i = 0; i < m.n && i < 8; i++)
		proc_free_proc_paths(&m.procs[i]);
	free(m.pids);
	stop_tree(&m.t);
}

/* ---- leaders gone: a process group's is read as any process (the image
 * check decides: image_check.c), a thread group's is refused ---- */

static void test_gone_leader(void)
{
	struct tree t;
	struct cr_proc p;
	pid_t *pids = NULL, ns;
	size_t n = 0, i;
	char want[64];
	int rc;

	if (launch("gone", &t) < 0) {
		failures++;
		return;
	}
	if (MUST(proc_tree_list(t.init, &pids, &n)))
		CHECK(n == 3, "gone tree: %zu processes, want 3", n);
	for (i = 1; i < n; i++) {
		memset(&p, 0, sizeof(p));
		if (!MUST(proc_ns_pid(pids[i], &ns)))
			continue;
		rc = proc_read_proc(pids[i], &p);
		if (ns == t.info.orphan_pid) {
			/* read as any process: whether its session and group can
			 * be rebuilt is the image check's to say (image_check.c) */
			CHECK(rc == 0 && p.cwd && p.root && p.mm.exe_path,
			      "orphan with dead group leader: %s", rc ? err_msg() : "no paths");
		} else {
			CHECK(ns == t.info.exited_leader, "unexpected pid %d", ns);
			snprintf(want, sizeof(want), "pid %d: thread group leader exited", pids[i]);
			expect_error(rc, __LINE__, "exited leader", want, (char *)NULL);
			CHECK(!p.cwd && !p.root && !p.mm.exe_path, "paths left allocated on error");
		}
		proc_free_proc_paths(&p);
	}
	free(pids);
	stop_tree(&t);
}

static void test_nested(void)
{
	struct tree t;
	pid_t *pids = NULL;
	size_t n = 0;

	if (launch("nested", &t) < 0) {
		failures++;
		return;
	}
	expect_error(proc_tree_list(t.init, &pids, &n), __LINE__, "nested tree",
		     "nested pid namespace unsupported", (char *)NULL);
	CHECK(pids == NULL, "pids allocated on error");
	stop_tree(&t);
}

static void test_bad_pid(void)
{
	struct cr_vma *v = NULL;
	pid_t ns;
	uint32_t n;

	expect_error(proc_ns_pid(INT_MAX - 1, &ns), __LINE__, "missing pid", "pid 2147483646",
		     "/proc/2147483646/status", (char *)NULL);
	expect_error(proc_read_vmas(INT_MAX - 1, &v, &n), __LINE__, "missing pid vmas",
		     "/proc/2147483646/smaps", (char *)NULL);
	expect_error(proc_tree_list(getpid(), (pid_t **)&v, (size_t *)&n), __LINE__,
		     "not an init", "not the init", (char *)NULL);
}

static int setup_paths(void)
{
	const char *tmp = getenv("TEST_TMP");
	char dir[PATH_MAX], real[PATH_MAX], self[1024], *slash;
	ssize_t len;

	snprintf(dir, sizeof(dir), "%s/u-proc.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir) || !realpath(dir, real) || strlen(real) >= sizeof(workdir))
		return -1;
	strcpy(workdir, real);
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len < 0)
		return -1;
	self[len] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	snprintf(target, sizeof(target), "%s/proc-target", self);
	return access(target, X_OK);
}

static void remove_workdir(void)
{
	static const char *const files[] = { PT_MAP_FILE, PT_SHARED_FILE, PT_DATA_FILE };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", workdir, files[i]);
		unlink(path);
	}
	rmdir(workdir);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("needs root (PID namespaces, /proc/PID/map_files)\n");
		return 77;
	}
	if (setup_paths() < 0) {
		perror("u-proc: set-up (work dir or proc-target)");
		return 1;
	}
	test_main();
	test_gone_leader();
	test_nested();
	test_bad_pid();
	remove_workdir();
	if (failures) {
		printf("u-proc: %d failures\n", failures);
		return 1;
	}
	printf("u-proc: pass\n");
	return 0;
}

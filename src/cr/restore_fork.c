/*
 * restore_fork.c - prefork sharing: a process whose image has pages it
 * still shared with its parent at the dump (CR_RUN_INHERITED) is not
 * forked by the tree code with the others.  Once its parent's memory is
 * written, the restorer makes the parent fork it (an injected clone3 with
 * its old pid), so it starts with the parent's restored pages, shared
 * copy-on-write.  Its own memory step then keeps the VMAs it shares
 * (restore_kept.c: rst_vma_kept), drops (MADV_DONTNEED) every page there that
 * is not inherited, and writes only the pages that are its own.
 *
 * What the tree code does for a process itself is done here by injected
 * calls: its fds from the service fds (epoll registrations and O_ASYNC for
 * the files it holds first), setsid, its group, cwd, umask and personality.
 * A process it cannot set up that way (a root or cwd it cannot reach from
 * its parent's, another session or group, a zombie child, a file kind with
 * other install steps) is forked by the tree code as before, and so is
 * every ancestor of it: its pages are then its own copies.
 *
 * Lazily restored memory: the parent writes the pages its late children
 * inherit before it forks them, even in VMAs the page server fills (those
 * are registered with the parent's userfaultfd only after the fork, so no
 * child inherits a registration); the children register their own.  Not in
 * a VMA where a write faults in a huge page (MADV_HUGEPAGE, or THP
 * "always"): the child's inherited pages there come from its own page
 * server, unshared.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/files.h"
#include "cr/ptrace.h"
#include "cr/restore_ctx.h"
#include "mem/lazy.h"

#define IOV_MAX_BATCH 1024

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static int has_inherited(const struct cr_proc *p)
{
	for (uint32_t i = 0; i < p->nr_vmas; i++)
		for (uint32_t k = 0; k < p->vmas[i].nr_runs; k++)
			if (p->vmas[i].runs[k].flags & CR_RUN_INHERITED)
				return 1;
	return 0;
}

/* Can process i be forked by its parent pi and set up by injected calls? */
static int can_fork_late(const struct rst_ctx *c, uint32_t i, long pi)
{
	const struct cr_proc *p = &c->img.procs[i], *pp;
	int root_slash;

	if (pi < 0 || p->zombie)
		return 0;
	pp = &c->img.procs[pi];
	root_slash = !p->root || !strcmp(p->root, "/");
	if (pp->zombie || !same_str(p->root, pp->root) ||
	    (!same_str(p->cwd, pp->cwd) && !root_slash))
		return 0;
	if (p->sid == p->pid ? p->pgid != p->pid : p->sid != pp->sid || p->pgid != pp->pgid)
		return 0;
	for (uint32_t k = 0; k < p->nr_fds; k++) {
		uint32_t kind = c->img.files[p->fds[k].file].kind;
		const struct file_ops *ops = file_ops_of(kind);

		if (!ops || (ops->install && kind != CR_FILE_EPOLL))
			return 0;
	}
	return 1;
}

static long parent_of(const struct rst_ctx *c, uint32_t i)
{
	for (uint32_t j = 0; j < i; j++)
		if (c->img.procs[j].pid == c->img.procs[i].ppid)
			return (long)j;
	return -1;
}

/* A late process inherits its parent's service fds of mapped files: the
 * parent opens those of all its late descendants (the lists are merged up,
 * then every late process takes its parent's). */
static int share_file_lists(struct rst_ctx *c)
{
	for (uint32_t i = c->img.nr_procs; i-- > 1;) {
		struct rst_proc *rp = &c->procs[i];

		if (!rp->late)
			continue;
		for (uint32_t k = 0; k < rp->nr_files; k++)
			if (rst_add_file(&c->procs[rp->parent], rp->files[k].path,
					 rp->files[k].writable) < 0)
				return -1;
	}
	for (uint32_t i = 1; i < c->img.nr_procs; i++) {
		struct rst_proc *rp = &c->procs[i], *pp = &c->procs[rp->parent];
		struct rst_file *f;

		if (!rp->late)
			continue;
		f = malloc((pp->nr_files ? pp->nr_files : 1) * sizeof(*f));
		if (!f)
			return err_set("out of memory");
		memcpy(f, pp->files, pp->nr_files * sizeof(*f));
		free(rp->files);
		rp->files = f;
		rp->nr_files = pp->nr_files;
		rp->exe_file = rst_file_index(rp, rp->p->mm.exe_path);
	}
	return 0;
}

int rst_plan_late(struct rst_ctx *c)
{
	uint32_t n = c->img.nr_procs;
	char *can = calloc(n, 1);
	const char *env = getenv("PICOCENTER_SHARE");
	int share = !env || strcmp(env, "0") != 0;   /* 0: measure without */

	if (!can)
		return err_set("out of memory");
	for (uint32_t i = 0; i < n; i++)
		c->procs[i].parent = (int32_t)parent_of(c, i);
	/* Children first: a process is forked late only with all its children. */
	for (uint32_t i = n; i-- > 1;)
		can[i] = (char)can_fork_late(c, i, c->procs[i].parent);
	for (uint32_t i = n; i-- > 1;)
		if (!can[i] && c->procs[i].parent > 0)
			can[c->procs[i].parent] = 0;
	for (uint32_t i = 1; i < n; i++) {
		struct rst_proc *rp = &c->procs[i];

		rp->late = can[i] && share &&
			   (has_inherited(rp->p) || c->procs[rp->parent].late);
		if (rp->late)
			c->nr_live--;   /* it reports nothing: its parent forks it */
	}
	free(can);
	return share_file_lists(c);
}

/* ---- the parent writes what its late children inherit ---- */

struct piece {
	uint64_t addr, len, off;
};

static int piece_cmp(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int add_piece(struct piece **v, size_t *n, size_t *cap, const struct cr_page_run *r)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct piece *g = realloc(*v, nc * sizeof(*g));

		if (!g)
			return err_set("out of memory");
		*v = g;
		*cap = nc;
	}
	(*v)[(*n)++] = (struct piece){ r->addr, r->nr_pages * CR_PAGE_SIZE, r->file_off };
	return 0;
}

/* Would writing a page into v fault in a whole huge page?  Its other
 * pages would then be present as zeros, and the page server could never
 * fill them (UFFDIO_COPY: EEXIST). */
static int huge_fault(const struct cr_vma *v)
{
	if (v->flags & CR_VMA_F_HUGEPAGE)
		return 1;
	return rst_thp_mode("always") && !(v->flags & CR_VMA_F_NOHUGEPAGE);
}

/* The inherited pages of late children in VMAs the page server would fill
 * in the parent (pi): each page once.  Not in a VMA where that would fault
 * in huge pages: there the child gets its own copies from its page server. */
static int inherited_in_lazy(const struct rst_ctx *c, uint32_t pi, struct piece **out,
			     size_t *n)
{
	const struct cr_proc *pp = c->procs[pi].p;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	for (uint32_t j = pi + 1; j < c->img.nr_procs; j++) {
		const struct rst_proc *rp = &c->procs[j];

		if (!rp->late || rp->parent != (int32_t)pi)
			continue;
		for (uint32_t m = 0; m < rp->p->nr_vmas; m++) {
			const struct cr_vma *v = &rp->p->vmas[m], *pv;

			if (!rst_vma_kept(c, rp, v) || !(pv = rst_parent_vma(pp, v)) ||
			    !mem_vma_is_lazy(pv) || huge_fault(pv))
				continue;
			for (uint32_t k = 0; k < v->nr_runs; k++)
				if ((v->runs[k].flags & CR_RUN_INHERITED) &&
				    add_piece(out, n, &cap, &v->runs[k]) < 0)
					return -1;
		}
	}
	if (*n < 2)
		return 0;
	qsort(*out, *n, sizeof(**out), piece_cmp);
	size_t m = 0;
	uint64_t end = 0;

	for (size_t i = 0; i < *n; i++) {
		struct piece p = (*out)[i];

		if (p.addr < end) {
			uint64_t cut = end - p.addr;

			if (cut >= p.len)
				continue;
			p.addr += cut;
			p.off += cut;
			p.len -= cut;
		}
		end = p.addr + p.len;
		(*out)[m++] = p;
	}
	*n = m;
	return 0;
}

static int write_inherited(struct rst_ctx *c, struct rst_proc *pp, uint32_t pi)
{
	struct piece *v;
	size_t n;
	int rc = 0;

	if (!c->lazy)
		return 0;       /* every page of the parent is written already */
	if (inherited_in_lazy(c, pi, &v, &n) < 0)
		return -1;
	for (size_t i = 0; rc == 0 && i < n; i += IOV_MAX_BATCH) {
		size_t k = n - i < IOV_MAX_BATCH ? n - i : IOV_MAX_BATCH;
		struct iovec local[IOV_MAX_BATCH], remote[IOV_MAX_BATCH];
		struct mem_range want[IOV_MAX_BATCH];
		size_t bytes = 0;

		for (size_t j = 0; j < k; j++) {
			want[j] = (struct mem_range){ v[i + j].off, v[i + j].len };
			local[j] = (struct iovec){ (void *)(c->pages + v[i + j].off), v[i + j].len };
			remote[j] = (struct iovec){ (void *)(uintptr_t)v[i + j].addr, v[i + j].len };
			bytes += v[i + j].len;
		}
		if (c->src && c->src->fetch(c->src->arg, want, k) < 0)
			rc = -1;
		else if (process_vm_writev(pp->host_pid, local, k, remote, k, 0) != (ssize_t)bytes)
			rc = err_sys("write the pages its children share at 0x%llx",
				     (unsigned long long)v[i].addr);
	}
	free(v);
	return rc;
}

/* ---- forking and setting up a late child ---- */

static int late_fds(struct rst_ctx *c, struct rst_proc *rp, struct inj_batch *b, uint32_t idx)
{
	const struct cr_proc *p = rp->p;

	if (inj_batch_add(b, "close the parent's fds", SYS_close_range, 0,
			  (uint64_t)c->svc_base - 1, 0, 0, 0, 0) < 0)
		return -1;
	for (uint32_t i = 0; i < p->nr_fds; i++) {
		const struct cr_fd *d = &p->fds[i];
		char what[64];

		snprintf(what, sizeof(what), "fd %d: dup3 from service fd", d->fd);
		if (inj_batch_add(b, what, SYS_dup3, (uint64_t)svc_cfile_fd(c, d->file),
				  (uint64_t)d->fd, d->cloexec ? O_CLOEXEC : 0, 0, 0, 0) < 0)
			return -1;
	}
	if (inj_batch_run(b) < 0)
		return -1;
	/* What the first process holding a file does with it (restore_files.c). */
	for (uint32_t i = 0; i < p->nr_fds; i++) {
		uint32_t id = p->fds[i].file;
		const struct cr_file *f = &c->img.files[id];
		int fd = p->fds[i].fd;

		if (files_fd_in(p, id) != fd || rst_file_holder(c, id) != idx)
			continue;
		if ((f->flags & O_ASYNC) && !(f->flags & O_PATH) &&
		    inj_call(&rp->inj, rp->host_tids[0], "set O_ASYNC", SYS_fcntl,
			     (uint64_t)fd, F_SETFL, f->flags & RST_SETFL_MASK, 0, 0, 0, NULL) < 0)
			return err_wrap("fd %d", fd);
		for (uint32_t k = 0; f->kind == CR_FILE_EPOLL && k < f->nr_ents; k++) {
			struct epoll_event ev = { f->ents[k].events, { .u64 = f->ents[k].data } };
			uint64_t at = inj_data(&rp->inj, 0);

			if (inj_write(&rp->inj, at, &ev, sizeof(ev)) < 0 ||
			    inj_call(&rp->inj, rp->host_tids[0], "epoll_ctl", SYS_epoll_ctl,
				     (uint64_t)fd, EPOLL_CTL_ADD, (uint64_t)f->ents[k].fd, at, 0, 0,
				     NULL) < 0)
				return err_wrap("epoll fd %d: register fd %d", fd, f->ents[k].fd);
		}
	}
	return 0;
}

static int late_setup(struct rst_ctx *c, struct rst_proc *rp, uint32_t idx)
{
	const struct cr_proc *p = rp->p, *pp = c->procs[rp->parent].p;
	struct inj_batch *b = malloc(sizeof(*b));
	pid_t tid = rp->host_tids[0];
	int rc = -1;

	if (!b)
		return err_set("out of memory");
	inj_batch_init(b, &rp->inj, tid);
	if (late_fds(c, rp, b, idx) < 0)
		goto out;
	if (p->sid == p->pid &&
	    inj_call(&rp->inj, tid, "setsid", SYS_setsid, 0, 0, 0, 0, 0, 0, NULL) < 0)
		goto out;
	if (!same_str(p->cwd, pp->cwd) && p->cwd) {
		uint64_t at = inj_data(&rp->inj, 0);

		if (inj_write(&rp->inj, at, p->cwd, strlen(p->cwd) + 1) < 0 ||
		    inj_call(&rp->inj, tid, "chdir", SYS_chdir, at, 0, 0, 0, 0, 0, NULL) < 0) {
			err_wrap("cwd %s", p->cwd);
			goto out;
		}
	}
	if (inj_batch_add(b, "umask", SYS_umask, p->umask, 0, 0, 0, 0, 0) < 0 ||
	    inj_batch_add(b, "personality", SYS_personality, p->personality, 0, 0, 0, 0, 0) < 0 ||
	    inj_batch_run(b) < 0)
		goto out;
	rc = 0;
out:
	free(b);
	return rc;
}

static int fork_one(struct rst_ctx *c, struct rst_proc *pp, struct rst_proc *rp, uint32_t idx)
{
	const struct cr_proc *p = rp->p;
	uint64_t at = inj_data(&pp->inj, 0);
	struct clone_args args;
	pid_t pid = p->pid;
	int64_t r;
	int st;

	memset(&args, 0, sizeof(args));
	args.exit_signal = (uint64_t)(p->exit_signal > 0 && p->exit_signal < 65 ?
				      p->exit_signal : SIGCHLD);
	args.set_tid = at + sizeof(args);
	args.set_tid_size = 1;
	pp->inj.clone_tid = 0;
	if (inj_write(&pp->inj, at, &args, sizeof(args)) < 0 ||
	    inj_write(&pp->inj, at + sizeof(args), &pid, sizeof(pid)) < 0 ||
	    inj_call(&pp->inj, pp->host_tids[0], "clone3 child", SYS_clone3, at, sizeof(args),
		     0, 0, 0, 0, &r) < 0)
		return -1;
	if (r != pid || !pp->inj.clone_tid)
		return err_set("clone3 made pid %lld", (long long)r);
	rp->host_pid = rp->host_tids[0] = (pid_t)pp->inj.clone_tid;
	rp->seized = 1;      /* traced from its birth, stopped */
	if (pt_wait_stop(rp->host_pid, &st) < 0 || pt_set_sigmask(rp->host_pid, ~0ull) < 0 ||
	    inj_open(&rp->inj, rp->host_pid, c->scratch) < 0)
		return -1;
	if (late_setup(c, rp, idx) < 0 || restore_group(c, rp, 1) < 0 ||
	    restore_group(c, rp, 0) < 0)
		return -1;
	return 0;
}

int rst_fork_late_children(struct rst_ctx *c, struct rst_proc *pp)
{
	uint32_t pi = (uint32_t)(pp - c->procs);
	int any = 0;

	for (uint32_t j = pi + 1; j < c->img.nr_procs && !any; j++)
		any = c->procs[j].late && c->procs[j].parent == (int32_t)pi;
	if (!any)
		return 0;
	if (write_inherited(c, pp, pi) < 0)
		return -1;
	for (uint32_t j = pi + 1; j < c->img.nr_procs; j++) {
		struct rst_proc *rp = &c->procs[j];

		if (rp->late && rp->parent == (int32_t)pi && fork_one(c, pp, rp, j) < 0)
			return err_wrap("fork pid %d from its restored parent", rp->p->pid);
	}
	return 0;
}

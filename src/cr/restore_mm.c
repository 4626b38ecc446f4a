/*
 * restore_mm.c - rebuild one process's address space from outside, by
 * system calls injected into its stopped leader: drop everything the fork
 * left (but the scratch area), map every VMA at its old address with its
 * old protection, move the vDSO to its old place, write the stored pages
 * (process_vm_writev), and set the mm fields with PR_SET_MM_MAP.  A
 * process forked from its restored parent (restore_fork.c) keeps the VMAs
 * it shares with it (restore_kept.c), drops their pages that are not
 * inherited and writes only its own.  Once the pages are in, and before
 * anything else, it runs the step its caller gives (restore.c: the parent
 * forks its late children then).
 */
#include <asm/prctl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <linux/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/ptrace.h"
#include "cr/restore_ctx.h"
#include "mem/lazy.h"
#include "common/timing.h"

#define TASK_TOP 0x7ffffffff000ull
#define RSEQ_FLAG_UNREGISTER 1
#define IOV_BATCH 1024
#define COPY_THREADS 8
#define COPY_PARALLEL_MIN (8u << 20)   /* bytes: below, one thread */

static int drop_inherited_rseq(struct rst_proc *rp)
{
	pid_t tid = rp->host_tids[0];
	uint64_t addr;
	uint32_t len, sig;

	if (pt_get_rseq(tid, &addr, &len, &sig) < 0)
		return -1;
	if (!addr)
		return 0;
	return inj_call(&rp->inj, tid, "unregister inherited rseq", SYS_rseq, addr, len,
			RSEQ_FLAG_UNREGISTER, sig, 0, 0, NULL);
}

static int unmap_all_but_scratch(struct rst_ctx *c, struct inj_batch *b)
{
	uint64_t hi = c->scratch + INJ_SCRATCH_SIZE;

	if (inj_batch_add(b, "munmap below scratch", SYS_munmap, 0, c->scratch,
			  0, 0, 0, 0) < 0)
		return -1;
	return inj_batch_add(b, "munmap above scratch", SYS_munmap, hi, TASK_TOP - hi,
			     0, 0, 0, 0);
}

/* A late process (restore_fork.c) keeps the VMAs it shares with its
 * parent: everything else goes, as above. */
static int unmap_all_but_kept(struct rst_ctx *c, struct rst_proc *rp, struct inj_batch *b)
{
	const struct cr_proc *p = rp->p;
	uint64_t at = 0;
	int scratch_done = 0;

	for (uint32_t i = 0; i <= p->nr_vmas; i++) {
		const struct cr_vma *v = i < p->nr_vmas ? &p->vmas[i] : NULL;
		uint64_t lo, hi;

		if (v && !rst_vma_kept(c, rp, v))
			continue;
		lo = v ? v->start : TASK_TOP;
		hi = v ? v->end : TASK_TOP;
		if (!scratch_done && c->scratch < lo) {   /* the scratch area first */
			if (at < c->scratch && inj_batch_add(b, "munmap", SYS_munmap, at,
							     c->scratch - at, 0, 0, 0, 0) < 0)
				return -1;
			at = c->scratch + INJ_SCRATCH_SIZE;
			scratch_done = 1;
		}
		if (at < lo && inj_batch_add(b, "munmap", SYS_munmap, at, lo - at, 0, 0, 0, 0) < 0)
			return -1;
		at = hi > at ? hi : at;
	}
	return 0;
}

static uint32_t map_prot(const struct cr_vma *v)
{
	/* Writable while pages are written in; fixed up afterwards. */
	return v->prot | (v->nr_runs ? PROT_WRITE : 0);
}

/* A VMA that is a whole SysV segment is attached again with shmat, so
 * the kernel counts it (shm_nattch) and shmdt finds it; a part of one
 * (after mprotect or munmap of a piece) is mapped from a file of the
 * segment: same memory, but not an attach. */
static int attach_sysv(const struct rst_ctx *c, struct inj_batch *b, const struct cr_vma *v)
{
	const struct cr_shmem *sh = &c->img.shmem[v->shmem_id];
	uint64_t flags = (v->prot & PROT_WRITE) ? 0 : SHM_RDONLY;
	uint32_t got = PROT_READ | ((v->prot & PROT_WRITE) ? PROT_WRITE : 0);
	char what[96];

	if (v->prot & PROT_EXEC) {
		flags |= SHM_EXEC;
		got |= PROT_EXEC;
	}
	snprintf(what, sizeof(what), "shmat SysV shm %d at 0x%llx", sh->perm.id,
		 (unsigned long long)v->start);
	if (inj_batch_add(b, what, SYS_shmat, (uint64_t)sh->perm.id, v->start, flags,
			  0, 0, 0) < 0)
		return -1;
	if (got == v->prot)
		return 0;
	snprintf(what, sizeof(what), "mprotect SysV shm %d", sh->perm.id);
	return inj_batch_add(b, what, SYS_mprotect, v->start, v->end - v->start, v->prot,
			     0, 0, 0);
}

static int is_whole_sysv(const struct rst_ctx *c, const struct cr_vma *v)
{
	const struct cr_shmem *sh = &c->img.shmem[v->shmem_id];

	return sh->sysv && v->pgoff == 0 && v->end - v->start == sh->size;
}

static int map_one_vma(struct rst_ctx *c, struct rst_proc *rp, struct inj_batch *b,
		       const struct cr_vma *v)
{
	uint64_t flags = MAP_FIXED, fd = (uint64_t)-1, off = 0;
	char what[96];
	int fi;

	switch (v->kind) {
	case CR_VMA_ANON:
		flags |= MAP_PRIVATE | MAP_ANONYMOUS;
		if (v->flags & CR_VMA_F_GROWSDOWN)
			flags |= MAP_GROWSDOWN;
		break;
	case CR_VMA_FILE:
	case CR_VMA_FILE_SHARED:
		fi = rst_file_index(rp, v->path);
		if (fi < 0)
			return err_set("vma 0x%llx: no service fd for %s",
				       (unsigned long long)v->start, v->path);
		flags |= v->kind == CR_VMA_FILE ? MAP_PRIVATE : MAP_SHARED;
		fd = (uint64_t)svc_file_fd(c, (uint32_t)fi);
		off = v->pgoff;
		break;
	case CR_VMA_SHMEM:
		if (is_whole_sysv(c, v))
			return attach_sysv(c, b, v);
		flags |= MAP_SHARED;
		fd = (uint64_t)svc_shmem_fd(c, v->shmem_id);
		off = v->pgoff;
		break;
	default:
		return 0;   /* vDSO and friends: see map_vdso() */
	}
	snprintf(what, sizeof(what), "mmap 0x%llx (%llu pages)",
		 (unsigned long long)v->start,
		 (unsigned long long)((v->end - v->start) / CR_PAGE_SIZE));
	return inj_batch_add(b, what, SYS_mmap, v->start, v->end - v->start, map_prot(v),
			     flags, fd, off);
}

/* A kept VMA: writable while pages are written, and every page that is
 * not inherited dropped (it reads as zero, or gets its own content). */
static int prepare_kept(struct inj_batch *b, const struct cr_vma *v)
{
	uint64_t at = v->start;

	if (inj_batch_add(b, "mprotect kept vma", SYS_mprotect, v->start, v->end - v->start,
			  map_prot(v), 0, 0, 0) < 0)
		return -1;
	for (uint32_t k = 0; k <= v->nr_runs; k++) {
		const struct cr_page_run *r = k < v->nr_runs ? &v->runs[k] : NULL;
		uint64_t lo = r ? r->addr : v->end;

		if (r && !(r->flags & CR_RUN_INHERITED))
			continue;
		if (at < lo && inj_batch_add(b, "madvise(MADV_DONTNEED) not inherited",
					     SYS_madvise, at, lo - at, MADV_DONTNEED, 0, 0, 0) < 0)
			return -1;
		at = r ? r->addr + r->nr_pages * CR_PAGE_SIZE : v->end;
	}
	return 0;
}

static int advise_vma(struct inj_batch *b, const struct cr_vma *v)
{
	static const struct { uint32_t flag; int advice; } adv[] = {
		{ CR_VMA_F_DONTFORK, MADV_DONTFORK },
		{ CR_VMA_F_DONTDUMP, MADV_DONTDUMP },
		{ CR_VMA_F_WIPEONFORK, MADV_WIPEONFORK },
		{ CR_VMA_F_HUGEPAGE, MADV_HUGEPAGE },
		{ CR_VMA_F_NOHUGEPAGE, MADV_NOHUGEPAGE },
	};

	if (v->kind != CR_VMA_ANON && v->kind != CR_VMA_FILE &&
	    v->kind != CR_VMA_FILE_SHARED && v->kind != CR_VMA_SHMEM)
		return 0;   /* the kernel's own mappings carry their own flags */
	for (size_t i = 0; i < sizeof(adv) / sizeof(adv[0]); i++)
		if ((v->flags & adv[i].flag) &&
		    inj_batch_add(b, "madvise", SYS_madvise, v->start, v->end - v->start,
				  (uint64_t)adv[i].advice, 0, 0, 0) < 0)
			return err_wrap("vma 0x%llx", (unsigned long long)v->start);
	return 0;
}

/* The vDSO (with [vvar] and [vvar_vclock] before it) goes back to its old
 * address: map a fresh one there and check it landed. */
static int map_vdso(struct rst_proc *rp)
{
	uint64_t vvar = cr_vma_start(rp->p, CR_VMA_VVAR);
	uint64_t vdso = cr_vma_start(rp->p, CR_VMA_VDSO);
	int64_t r;

	if (!vdso)
		return err_set("image has no [vdso] mapping");
	if (!vvar)
		return err_set("image has no [vvar] mapping (different kernel layout)");
	if (inj_call(&rp->inj, rp->host_tids[0], "arch_prctl(ARCH_MAP_VDSO_64)",
		     SYS_arch_prctl, ARCH_MAP_VDSO_64, vvar, 0, 0, 0, 0, &r) < 0)
		return -1;
	return 0;
}

/* The new vDSO must sit at the image's address: its first bytes there must
 * be this kernel's vDSO (ours, as every process gets the same image). */
static int check_vdso_place(struct rst_proc *rp)
{
	const uint8_t *ours = (const uint8_t *)getauxval(AT_SYSINFO_EHDR);
	uint64_t want = cr_vma_start(rp->p, CR_VMA_VDSO);
	uint8_t head[64];

	if (!ours)
		return err_set("no vDSO in the restorer to compare with");
	if (inj_read(&rp->inj, want, head, sizeof(head)) < 0 ||
	    memcmp(head, ours, sizeof(head)) != 0)
		return err_set("the vDSO did not land at 0x%llx", (unsigned long long)want);
	return 0;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#define HUGE_SIZE (2ull << 20)
/* Below this, faulting 4 KiB pages is as fast and has no outliers. */
#define PREALLOC_MIN (8ull << 20)

static uint64_t stored_pages(const struct cr_vma *v)
{
	uint64_t n = 0;

	for (uint32_t k = 0; k < v->nr_runs; k++)
		n += v->runs[k].nr_pages;
	return n;
}

/* Huge pages in THP "madvise" mode, unless PICOCENTER_THP=0. */
static int thp_mode_madvise(void)
{
	const char *env = getenv("PICOCENTER_THP");

	if (env && !strcmp(env, "0"))
		return 0;
	return rst_thp_mode("madvise");
}

/* Left to the page server (mem/lazy.h) rather than written now? */
static int vma_lazy(const struct rst_ctx *c, const struct cr_vma *v)
{
	return c->lazy && mem_vma_is_lazy(v);
}

static int advise(struct inj_batch *b, const struct cr_vma *v, int advice, const char *what)
{
	return inj_batch_add(b, what, SYS_madvise, v->start, v->end - v->start,
			     (uint64_t)advice, 0, 0, 0);
}

/* Dense anonymous areas of 8 MiB and more are allocated in huge pages
 * before the copy: allocating and clearing 4 KiB pages one fault at a time
 * is most of the cost of a restore.  With THP in "madvise" mode the area is
 * marked MADV_HUGEPAGE for the allocation and MADV_NOHUGEPAGE after it,
 * which in that mode behaves like an unmarked area. */
static int preallocate(const struct rst_ctx *c, struct rst_proc *rp, struct inj_batch *b)
{
	const struct cr_proc *p = rp->p;

	if (!thp_mode_madvise())
		return 0;
	for (uint32_t i = 0; i < p->nr_vmas; i++) {
		const struct cr_vma *v = &p->vmas[i];
		uint64_t pages = (v->end - v->start) / CR_PAGE_SIZE;

		if (v->kind != CR_VMA_ANON || v->end - v->start < PREALLOC_MIN ||
		    vma_lazy(c, v) || rst_vma_kept(c, rp, v) ||
		    stored_pages(v) * 10 < pages * 9 ||
		    (v->flags & (CR_VMA_F_HUGEPAGE | CR_VMA_F_NOHUGEPAGE)))
			continue;
		if (advise(b, v, MADV_HUGEPAGE, "madvise(MADV_HUGEPAGE)") < 0 ||
		    advise(b, v, MADV_POPULATE_WRITE, "madvise(MADV_POPULATE_WRITE)") < 0 ||
		    advise(b, v, MADV_NOHUGEPAGE, "madvise(MADV_NOHUGEPAGE)") < 0)
			return err_wrap("vma 0x%llx", (unsigned long long)v->start);
	}
	return 0;
}

/* A slice of the page copy, done by one thread. */
struct copy_job {
	pid_t pid;
	const struct iovec *local, *remote;
	size_t n;
	int err;                 /* errno of the failure, 0 if none */
	uint64_t fail_addr;
};

static void *copy_slice(void *arg)
{
	struct copy_job *j = arg;

	for (size_t i = 0; i < j->n; i += IOV_BATCH) {
		size_t n = j->n - i < IOV_BATCH ? j->n - i : IOV_BATCH, bytes = 0;

		for (size_t k = 0; k < n; k++)
			bytes += j->local[i + k].iov_len;
		if (process_vm_writev(j->pid, j->local + i, n, j->remote + i, n, 0) !=
		    (ssize_t)bytes) {
			j->err = errno ? errno : EFAULT;
			j->fail_addr = (uint64_t)(uintptr_t)j->remote[i].iov_base;
			break;
		}
	}
	return NULL;
}

/* Copy threads run on every CPU, not on the one the restorer is pinned to. */
static int start_copy_thread(struct rst_ctx *c, pthread_t *th, struct copy_job *job)
{
	pthread_attr_t attr;
	int ok;

	if (pthread_attr_init(&attr) != 0)
		return 0;
	pthread_attr_setaffinity_np(&attr, sizeof(c->cpus), &c->cpus);
	ok = pthread_create(th, &attr, copy_slice, job) == 0;
	pthread_attr_destroy(&attr);
	return ok;
}

/* Split the runs into slices of about equal bytes. */
static size_t slice_end(const struct iovec *v, size_t from, size_t n, size_t want)
{
	size_t bytes = 0;

	while (from < n && bytes < want)
		bytes += v[from++].iov_len;
	return from;
}

/* Write every stored page of private VMAs: many runs per system call, on
 * as many threads as there are CPUs (the cost is the target's page
 * allocation, which runs in parallel); then run pages_in. */
static int write_pages(struct rst_ctx *c, struct rst_proc *rp, rst_step_fn pages_in)
{
	const struct cr_proc *p = rp->p;
	struct copy_job jobs[COPY_THREADS];
	pthread_t th[COPY_THREADS];
	int started[COPY_THREADS] = { 0 };
	struct iovec *local, *remote;
	size_t n = 0, total = 0, at = 0, nthreads;
	int rc = 0;

	for (uint32_t i = 0; i < p->nr_vmas; i++)
		n += vma_lazy(c, &p->vmas[i]) ? 0 : p->vmas[i].nr_runs;
	if (!n)
		return pages_in(c, rp);
	local = calloc(n, sizeof(*local));
	remote = calloc(n, sizeof(*remote));
	if (!local || !remote) {
		free(local);
		free(remote);
		return err_set("out of memory");
	}
	n = 0;
	for (uint32_t i = 0; i < p->nr_vmas; i++) {
		int kept = rst_vma_kept(c, rp, &p->vmas[i]);

		if (vma_lazy(c, &p->vmas[i]))
			continue;
		for (uint32_t k = 0; k < p->vmas[i].nr_runs; k++) {
			const struct cr_page_run *run = &p->vmas[i].runs[k];

			if (kept && (run->flags & CR_RUN_INHERITED))
				continue;   /* the parent's, shared since the fork */
			local[n].iov_base = (void *)(c->pages + run->file_off);
			local[n].iov_len = run->nr_pages * CR_PAGE_SIZE;
			remote[n].iov_base = (void *)(uintptr_t)run->addr;
			remote[n].iov_len = local[n].iov_len;
			total += local[n++].iov_len;
		}
	}
	nthreads = total >= COPY_PARALLEL_MIN ? (size_t)c->nr_cpus : 1;
	if (nthreads > COPY_THREADS)
		nthreads = COPY_THREADS;
	for (size_t t = 0; t < nthreads; t++) {
		size_t end = t + 1 == nthreads ? n : slice_end(local, at, n, total / nthreads);

		jobs[t] = (struct copy_job){ rp->host_pid, local + at, remote + at, end - at, 0, 0 };
		at = end;
		if (t > 0)
			started[t] = start_copy_thread(c, &th[t], &jobs[t]);
	}
	for (size_t t = 0; t < nthreads; t++)
		if (!started[t])
			copy_slice(&jobs[t]);
	for (size_t t = 1; t < nthreads; t++)
		if (started[t])
			pthread_join(th[t], NULL);
	for (size_t t = 0; t < nthreads && rc == 0; t++)
		if (jobs[t].err) {
			errno = jobs[t].err;
			rc = err_sys("write pages at 0x%llx", (unsigned long long)jobs[t].fail_addr);
		}
	free(local);
	free(remote);
	return rc < 0 ? rc : pages_in(c, rp);
}

static int has_lazy_vmas(const struct rst_ctx *c, const struct cr_proc *p)
{
	for (uint32_t i = 0; i < p->nr_vmas; i++)
		if (vma_lazy(c, &p->vmas[i]))
			return 1;
	return 0;
}

/* Take a userfaultfd of the process (created inside it, pulled out with
 * pidfd_getfd, closed there) to the page server, which registers the lazy
 * VMAs with it. */
static int take_userfaultfd(struct rst_ctx *c, struct rst_proc *rp, struct inj_batch *b,
			    int *ufd)
{
	int64_t fd;
	int pidfd;

	if (c->box ? rst_box_userfaultfd(c, rp, &fd) < 0
		   : inj_call(&rp->inj, rp->host_tids[0], "userfaultfd", SYS_userfaultfd,
			      O_CLOEXEC | O_NONBLOCK, 0, 0, 0, 0, 0, &fd) < 0)
		return -1;
	pidfd = (int)syscall(SYS_pidfd_open, rp->host_pid, 0);
	*ufd = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, (int)fd, 0);
	if (*ufd < 0)
		err_sys("pidfd_getfd of its userfaultfd (fd %lld)", (long long)fd);
	if (pidfd >= 0)
		close(pidfd);
	if (inj_batch_add(b, "close userfaultfd", SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0) < 0) {
		if (*ufd >= 0)
			close(*ufd);
		return -1;
	}
	return *ufd < 0 ? -1 : 0;
}

/* The page server, reading through c->src if the pages come from the
 * store, recording the ActiveSet if asked, answering dumps on its socket. */
static int start_server(struct rst_ctx *c)
{
	c->server = mem_server_new(c->pages, c->pages_len, c->init_host, &c->helpers);
	if (!c->server)
		return err_set("page server: out of memory");
	if (c->src) {
		mem_server_use_source(c->server, c->src, c->fill);
		c->src_given = 1;
	}
	if (c->log)
		mem_server_set_log(c->server, c->log);
	if (c->record && mem_server_record(c->server, c->as) < 0)
		return -1;
	return mem_server_listen(c->server);
}

static int serve_lazily(struct rst_ctx *c, struct rst_proc *rp, struct inj_batch *b)
{
	int ufd;

	if (!has_lazy_vmas(c, rp->p))
		return 0;
	if (!c->server && start_server(c) < 0)
		return -1;
	if (take_userfaultfd(c, rp, b, &ufd) < 0)
		return -1;
	return mem_server_add_proc(c->server, ufd, rp->host_pid, rp->p->pid, rp->p->vmas,
				   rp->p->nr_vmas);
}

static int fix_protections(struct rst_proc *rp, struct inj_batch *b)
{
	const struct cr_proc *p = rp->p;

	for (uint32_t i = 0; i < p->nr_vmas; i++) {
		const struct cr_vma *v = &p->vmas[i];
		char what[64];

		if (map_prot(v) == v->prot || (v->kind != CR_VMA_ANON && v->kind != CR_VMA_FILE))
			continue;
		snprintf(what, sizeof(what), "mprotect 0x%llx", (unsigned long long)v->start);
		if (inj_batch_add(b, what, SYS_mprotect, v->start, v->end - v->start, v->prot,
				  0, 0, 0) < 0)
			return -1;
	}
	return 0;
}

static int set_mm_map(struct rst_ctx *c, struct rst_proc *rp)
{
	const struct cr_mm *mm = &rp->p->mm;
	struct prctl_mm_map map;
	uint64_t at = inj_data(&rp->inj, 0);

	memset(&map, 0, sizeof(map));
	map.start_code = mm->start_code;
	map.end_code = mm->end_code;
	map.start_data = mm->start_data;
	map.end_data = mm->end_data;
	map.start_brk = mm->start_brk;
	map.brk = mm->brk;
	map.start_stack = mm->start_stack;
	map.arg_start = mm->arg_start;
	map.arg_end = mm->arg_end;
	map.env_start = mm->env_start;
	map.env_end = mm->env_end;
	map.auxv = (__u64 *)(uintptr_t)(at + sizeof(map));
	map.auxv_size = mm->nr_auxv * 8;
	map.exe_fd = (uint32_t)svc_file_fd(c, (uint32_t)rp->exe_file);
	if (inj_write(&rp->inj, at, &map, sizeof(map)) < 0 ||
	    inj_write(&rp->inj, at + sizeof(map), mm->auxv, mm->nr_auxv * 8) < 0)
		return -1;
	return inj_call(&rp->inj, rp->host_tids[0], "prctl(PR_SET_MM_MAP)", SYS_prctl,
			PR_SET_MM, PR_SET_MM_MAP, at, sizeof(map), 0, 0, NULL);
}

/* Calls without memory arguments go in batches: one stop for all the
 * mappings of a process instead of one per call. */
static int rebuild_mm(struct rst_ctx *c, struct rst_proc *rp, struct inj_batch *b,
		      rst_step_fn pages_in)
{
	const struct cr_proc *p = rp->p;

	if (drop_inherited_rseq(rp) < 0 ||
	    (rp->late ? unmap_all_but_kept(c, rp, b) : unmap_all_but_scratch(c, b)) < 0)
		return -1;
	for (uint32_t i = 0; i < p->nr_vmas; i++)
		if ((rst_vma_kept(c, rp, &p->vmas[i]) ? prepare_kept(b, &p->vmas[i])
						       : map_one_vma(c, rp, b, &p->vmas[i])) < 0 ||
		    advise_vma(b, &p->vmas[i]) < 0)
			return -1;
	if (inj_batch_run(b) < 0 || map_vdso(rp) < 0 || check_vdso_place(rp) < 0)
		return -1;
	if (preallocate(c, rp, b) < 0 || inj_batch_run(b) < 0)
		return -1;
	timing_mark("restore: mapped and preallocated");
	if (write_pages(c, rp, pages_in) < 0 || serve_lazily(c, rp, b) < 0 ||
	    fix_protections(rp, b) < 0 || inj_batch_run(b) < 0)
		return -1;
	return set_mm_map(c, rp);
}

static const struct cr_vma *vma_at(const struct cr_proc *p, uint64_t addr)
{
	for (uint32_t i = 0; i < p->nr_vmas; i++)
		if (addr >= p->vmas[i].start && addr < p->vmas[i].end)
			return &p->vmas[i];
	return NULL;
}

/* A lazy VMA's bytes as the page server will put them in: the stored page
 * (fetched first when the pages come from the store), or zeros for a page
 * the image does not store. */
static int read_stored(const struct rst_ctx *c, const struct cr_vma *v, uint64_t addr,
		       void *buf, size_t len)
{
	for (uint32_t k = 0; k < v->nr_runs; k++) {
		const struct cr_page_run *r = &v->runs[k];
		struct mem_range want;

		if (addr < r->addr || addr >= r->addr + r->nr_pages * CR_PAGE_SIZE)
			continue;
		want = (struct mem_range){ r->file_off + (addr - r->addr), len };
		if (c->src && c->src->fetch(c->src->arg, &want, 1) < 0)
			return -1;
		memcpy(buf, c->pages + want.off, len);
		return 0;
	}
	memset(buf, 0, len);
	return 0;
}

int rst_read_mem(struct rst_ctx *c, struct rst_proc *rp, uint64_t addr, void *buf, size_t len)
{
	const struct cr_vma *v = vma_at(rp->p, addr);

	if (len > CR_PAGE_SIZE - addr % CR_PAGE_SIZE)
		return err_set("read %zu bytes at 0x%llx: crosses a page", len,
			       (unsigned long long)addr);
	if (v && vma_lazy(c, v))
		return read_stored(c, v, addr, buf, len);
	return inj_read(&rp->inj, addr, buf, len);
}

int restore_mm(struct rst_ctx *c, struct rst_proc *rp, rst_step_fn pages_in)
{
	struct inj_batch *b = malloc(sizeof(*b));
	int rc;

	if (!b)
		return err_set("restore pid %d: out of memory", rp->p->pid);
	inj_batch_init(b, &rp->inj, rp->host_tids[0]);
	rc = rebuild_mm(c, rp, b, pages_in);
	free(b);
	return rc < 0 ? err_wrap("restore pid %d: memory", rp->p->pid) : 0;
}

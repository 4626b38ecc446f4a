/*
 * image_check.c - the validation of an image: every field of every record,
 * what both the writer and the reader insist on (image_check in
 * image_int.h), so that nothing read from a manifest is used unchecked.
 */
#include <stddef.h>   /* before image.h, which uses size_t without it */
#include "cr/image.h"
#include "cr/image_int.h"
#include "common/err.h"

#include <inttypes.h>
#include <linux/netlink.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

/* ---- Limits of the fields ---- */

#define USER_VA_END     0x800000000000ull
#define VSYSCALL_START  0xffffffffff600000ull
#define VSYSCALL_END    (VSYSCALL_START + CR_PAGE_SIZE)
#define PROT_MASK       (PROT_READ | PROT_WRITE | PROT_EXEC)
#define VMA_FLAGS_MASK  ((CR_VMA_F_LOCKED << 1) - 1)
#ifndef SS_AUTODISARM
#define SS_AUTODISARM   (1u << 31)    /* <linux/signal.h>; not in glibc's */
#endif
#define ALTSTACK_FLAGS  ((uint32_t)SS_ONSTACK | SS_DISABLE | SS_AUTODISARM)
#define CLOCK_MAX       11            /* CLOCK_TAI */
#define EPOLL_EVENTS_MASK ((uint32_t)(EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | \
			   EPOLLHUP | EPOLLRDNORM | EPOLLRDBAND | \
			   EPOLLWRNORM | EPOLLWRBAND | EPOLLMSG | EPOLLRDHUP | \
			   EPOLLEXCLUSIVE | EPOLLWAKEUP | EPOLLONESHOT | EPOLLET))

/* ---- Validation: what both the writer and the reader insist on ---- */

static bool page_aligned(uint64_t v)
{
	return (v & (CR_PAGE_SIZE - 1)) == 0;
}

static bool valid_signo(int64_t sig)
{
	return sig >= 1 && sig <= CR_NSIG;
}

/* An array pointer must be there when its count is not zero. */
static int check_array(const void *arr, uint32_t n, const char *what)
{
	if (n && !arr)
		return err_set("nr_%s is %" PRIu32 " but %s is NULL", what, n,
			       what);
	return 0;
}

static int check_path(const char *s, const char *what, bool required)
{
	if (!s)
		return required ? err_set("%s missing", what) : 0;
	if (strnlen(s, CR_PATH_MAX) >= CR_PATH_MAX)
		return err_set("%s not shorter than %d bytes", what,
			       CR_PATH_MAX);
	if (s[0] != '/')
		return err_set("%s \"%s\" not absolute", what, s);
	return 0;
}

static int check_comm(const char comm[CR_COMM_LEN])
{
	if (!memchr(comm, '\0', CR_COMM_LEN))
		return err_set("comm not NUL-terminated");
	return 0;
}

static int check_siginfos(const struct cr_siginfo *si, uint32_t n,
			  const char *what)
{
	if (check_array(si, n, what))
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		int32_t signo = (int32_t)le_load(si[i].raw, 4);

		if (!valid_signo(signo))
			return err_set("%s %" PRIu32 ": signo %" PRId32
				       " not in 1..%d", what, i, signo, CR_NSIG);
	}
	return 0;
}

/* One run: [addr, addr + nr_pages pages) inside [lo, hi), after *prev_end,
 * its bytes inside DIR/pages.  Advances *prev_end. */
static int check_run(const struct cr_image *img, const struct cr_page_run *r,
		     uint64_t lo, uint64_t hi, uint64_t *prev_end)
{
	uint64_t bytes, end, file_end;

	if (r->nr_pages == 0)
		return err_set("nr_pages is 0");
	if (r->flags & ~CR_RUN_INHERITED)
		return err_set("flags 0x%" PRIx32 " has unknown bits", r->flags);
	if (!page_aligned(r->addr))
		return err_set("addr 0x%" PRIx64 " not page aligned", r->addr);
	if (__builtin_mul_overflow(r->nr_pages, (uint64_t)CR_PAGE_SIZE, &bytes) ||
	    __builtin_add_overflow(r->addr, bytes, &end))
		return err_set("addr 0x%" PRIx64 " + %" PRIu64 " pages overflows",
			       r->addr, r->nr_pages);
	if (r->addr < lo || end > hi)
		return err_set("[0x%" PRIx64 ", 0x%" PRIx64 ") outside [0x%"
			       PRIx64 ", 0x%" PRIx64 ")", r->addr, end, lo, hi);
	if (r->addr < *prev_end)
		return err_set("addr 0x%" PRIx64 " overlaps or precedes the "
			       "previous run (ends 0x%" PRIx64 ")", r->addr,
			       *prev_end);
	if (!page_aligned(r->file_off))
		return err_set("file_off 0x%" PRIx64 " not page aligned",
			       r->file_off);
	if (__builtin_add_overflow(r->file_off, bytes, &file_end) ||
	    file_end > img->pages_size)
		return err_set("file_off 0x%" PRIx64 " + %" PRIu64 " bytes past "
			       "pages_size %" PRIu64, r->file_off, bytes,
			       img->pages_size);
	*prev_end = end;
	return 0;
}

static int check_runs(const struct cr_image *img, const struct cr_page_run *runs,
		      uint32_t n, uint64_t lo, uint64_t hi)
{
	uint64_t prev_end = lo;

	if (check_array(runs, n, "runs"))
		return -1;
	for (uint32_t i = 0; i < n; i++)
		if (check_run(img, &runs[i], lo, hi, &prev_end))
			return err_wrap("run %" PRIu32, i);
	return 0;
}

static int check_ipc_perm(const struct cr_ipc_perm *p)
{
	if (p->id < 0)
		return err_set("SysV id %" PRId32 " negative", p->id);
	if (p->mode & ~0777u)
		return err_set("SysV mode 0%" PRIo32 " beyond 0777", p->mode);
	return 0;
}

static int check_shmem(const struct cr_image *img, const struct cr_shmem *sh)
{
	static const struct cr_ipc_perm none;

	if (!page_aligned(sh->size))
		return err_set("size 0x%" PRIx64 " not page aligned", sh->size);
	if (sh->sysv > CR_SYSV_SHM_REMOVED || (sh->sysv && !img->ipc_ns))
		return err_set("sysv %" PRIu32 " (ipc_ns %" PRIu32 ")", sh->sysv, img->ipc_ns);
	if (!sh->sysv && (sh->segsz || memcmp(&sh->perm, &none, sizeof(none))))
		return err_set("SysV fields on a shmem object that is not SysV");
	if (sh->sysv && (!sh->segsz || sh->segsz > sh->size ||
			 sh->size - sh->segsz >= CR_PAGE_SIZE))
		return err_set("SysV segsz %" PRIu64 " does not round up to size %" PRIu64,
			       sh->segsz, sh->size);
	if (sh->sysv && check_ipc_perm(&sh->perm))
		return -1;
	if (sh->sysv == CR_SYSV_SHM_REMOVED && sh->perm.key)
		return err_set("a removed SysV segment with key 0x%08" PRIx32, sh->perm.key);
	for (uint32_t i = 0; i < sh->nr_runs && sh->runs; i++)
		if (sh->runs[i].flags)
			return err_set("run %" PRIu32 ": flags 0x%" PRIx32 " in shared "
				       "memory", i, sh->runs[i].flags);
	return check_runs(img, sh->runs, sh->nr_runs, 0, sh->size);
}

static int check_sem(const struct cr_sem_set *s)
{
	if (check_ipc_perm(&s->perm))
		return -1;
	if (s->nsems == 0 || s->nsems > CR_SEM_MAX)
		return err_set("nsems %" PRIu32 " not in 1..%d", s->nsems, CR_SEM_MAX);
	if (check_array(s->vals, s->nsems, "vals"))
		return -1;
	for (uint32_t i = 0; i < s->nsems; i++)
		if (s->vals[i] > CR_SEMVMX)
			return err_set("semaphore %" PRIu32 ": value %u above %d", i,
				       s->vals[i], CR_SEMVMX);
	return 0;
}

static int check_msgq(const struct cr_msg_queue *q)
{
	if (check_ipc_perm(&q->perm) || check_array(q->msgs, q->nr_msgs, "msgs"))
		return -1;
	for (uint32_t i = 0; i < q->nr_msgs; i++)
		if (q->msgs[i].mtype <= 0 || q->msgs[i].len > CR_BLOB_MAX ||
		    (q->msgs[i].len && !q->msgs[i].data))
			return err_set("message %" PRIu32 ": mtype %" PRId64 " or length %"
				       PRIu64 " out of range", i, q->msgs[i].mtype,
				       q->msgs[i].len);
	return 0;
}

/* Every SysV id unique within its kind; objects only in an own namespace. */
static int check_ipc(const struct cr_image *img)
{
	if (img->ipc_ns > 1)
		return err_set("ipc_ns %" PRIu32 " not 0 or 1", img->ipc_ns);
	if (!img->ipc_ns && (img->nr_sems || img->nr_msgqs))
		return err_set("SysV objects without an IPC namespace of the tree");
	if (check_array(img->sems, img->nr_sems, "sems") ||
	    check_array(img->msgqs, img->nr_msgqs, "msgqs"))
		return -1;
	for (uint32_t i = 0; i < img->nr_sems; i++) {
		if (check_sem(&img->sems[i]))
			return err_wrap("sem %" PRIu32, i);
		for (uint32_t j = 0; j < i; j++)
			if (img->sems[j].perm.id == img->sems[i].perm.id)
				return err_set("sem %" PRIu32 ": id %" PRId32 " repeated", i,
					       img->sems[i].perm.id);
	}
	for (uint32_t i = 0; i < img->nr_msgqs; i++) {
		if (check_msgq(&img->msgqs[i]))
			return err_wrap("msgq %" PRIu32, i);
		for (uint32_t j = 0; j < i; j++)
			if (img->msgqs[j].perm.id == img->msgqs[i].perm.id)
				return err_set("msgq %" PRIu32 ": id %" PRId32 " repeated", i,
					       img->msgqs[i].perm.id);
	}
	for (uint32_t i = 0; i < img->nr_shmem; i++)
		for (uint32_t j = 0; img->shmem[i].sysv && j < i; j++)
			if (img->shmem[j].sysv && img->shmem[j].perm.id == img->shmem[i].perm.id)
				return err_set("shmem %" PRIu32 ": SysV id %" PRId32 " repeated",
					       i, img->shmem[i].perm.id);
	return 0;
}

static bool vma_is_file(uint32_t kind)
{
	return kind == CR_VMA_FILE || kind == CR_VMA_FILE_SHARED;
}

static bool vma_is_shared(uint32_t kind)
{
	return kind == CR_VMA_SHMEM || kind == CR_VMA_FILE_SHARED;
}

static bool vma_has_runs(uint32_t kind)
{
	return kind == CR_VMA_ANON || kind == CR_VMA_FILE;
}

/* Where the VMA may lie: start/end aligned, ordered, after the previous. */
static int check_vma_range(const struct cr_vma *v, uint64_t prev_end)
{
	if (v->kind == CR_VMA_VSYSCALL) {
		if (v->start != VSYSCALL_START || v->end != VSYSCALL_END)
			return err_set("vsyscall at [0x%" PRIx64 ", 0x%" PRIx64
				       "), not [0x%llx, 0x%llx)", v->start,
				       v->end, VSYSCALL_START, VSYSCALL_END);
	} else {
		if (!page_aligned(v->start))
			return err_set("start 0x%" PRIx64 " not page aligned",
				       v->start);
		if (!page_aligned(v->end))
			return err_set("end 0x%" PRIx64 " not page aligned",
				       v->end);
		if (v->start >= v->end)
			return err_set("start 0x%" PRIx64 " not below end 0x%"
				       PRIx64, v->start, v->end);
		if (v->end > USER_VA_END)
			return err_set("end 0x%" PRIx64 " above 0x%llx", v->end,
				       USER_VA_END);
	}
	if (v->start < prev_end)
		return err_set("start 0x%" PRIx64 " overlaps or precedes the "
			       "previous vma (ends 0x%" PRIx64 ")", v->start,
			       prev_end);
	return 0;
}

static int check_vma(const struct cr_image *img, const struct cr_vma *v,
		     uint64_t prev_end)
{
	bool shared = v->flags & CR_VMA_F_SHARED;

	if (v->kind < CR_VMA_ANON || v->kind > CR_VMA_VSYSCALL)
		return err_set("kind %" PRIu32 " unknown", v->kind);
	if (check_vma_range(v, prev_end))
		return -1;
	if (v->prot & ~(uint32_t)PROT_MASK)
		return err_set("prot 0x%" PRIx32 " has bits other than R/W/X",
			       v->prot);
	if (v->flags & ~(uint32_t)VMA_FLAGS_MASK)
		return err_set("flags 0x%" PRIx32 " has unknown bits", v->flags);
	if (shared != vma_is_shared(v->kind))
		return err_set("flag SHARED %s for kind %" PRIu32,
			       shared ? "set" : "clear", v->kind);
	if (v->kind == CR_VMA_SHMEM && v->shmem_id >= img->nr_shmem)
		return err_set("shmem_id %" PRIu32 " not below nr_shmem %" PRIu32,
			       v->shmem_id, img->nr_shmem);
	if (v->kind != CR_VMA_SHMEM && v->shmem_id != 0)
		return err_set("shmem_id %" PRIu32 " set on a non-shmem vma",
			       v->shmem_id);
	if (!page_aligned(v->pgoff))
		return err_set("pgoff 0x%" PRIx64 " not page aligned", v->pgoff);
	if (!vma_is_file(v->kind) && v->kind != CR_VMA_SHMEM && v->path)
		return err_set("path set on a vma of kind %" PRIu32, v->kind);
	if (check_path(v->path, "path", vma_is_file(v->kind)))
		return -1;
	if (!vma_has_runs(v->kind) && v->nr_runs)
		return err_set("%" PRIu32 " page runs on a vma of kind %" PRIu32,
			       v->nr_runs, v->kind);
	return check_runs(img, v->runs, v->nr_runs, v->start, v->end);
}

static int check_vmas(const struct cr_image *img, const struct cr_proc *p)
{
	uint64_t prev_end = 0;

	if (p->nr_vmas > CR_MAX_VMAS)
		return err_set("nr_vmas %" PRIu32 " above %d", p->nr_vmas,
			       CR_MAX_VMAS);
	if (check_array(p->vmas, p->nr_vmas, "vmas"))
		return -1;
	for (uint32_t i = 0; i < p->nr_vmas; i++) {
		if (check_vma(img, &p->vmas[i], prev_end))
			return err_wrap("vma %" PRIu32, i);
		prev_end = p->vmas[i].end;
	}
	return 0;
}

static int check_thread(const struct cr_image *img, const struct cr_thread *t)
{
	if (t->tid <= 0)
		return err_set("tid %" PRId32 " not positive", t->tid);
	if (check_comm(t->comm))
		return -1;
	if (t->xsave_len > CR_XSAVE_MAX)
		return err_set("xsave_len %" PRIu32 " above %d", t->xsave_len,
			       CR_XSAVE_MAX);
	if (t->xsave_len != img->xsave_size)
		return err_set("xsave_len %" PRIu32 " differs from the image's "
			       "xsave_size %" PRIu32, t->xsave_len,
			       img->xsave_size);
	if (check_array(t->xsave, t->xsave_len, "xsave"))
		return -1;
	if ((uint32_t)t->altstack_flags & ~ALTSTACK_FLAGS)
		return err_set("altstack_flags 0x%" PRIx32 " has unknown bits",
			       (uint32_t)t->altstack_flags);
	return check_siginfos(t->pending, t->nr_pending, "pending");
}

static int check_threads(const struct cr_image *img, const struct cr_proc *p)
{
	if (p->nr_threads > CR_MAX_THREADS)
		return err_set("nr_threads %" PRIu32 " above %d", p->nr_threads,
			       CR_MAX_THREADS);
	if (p->nr_threads == 0 && !p->zombie)
		return err_set("no threads (only a zombie may have none)");
	if (check_array(p->threads, p->nr_threads, "threads"))
		return -1;
	if (p->nr_threads && p->threads[0].tid != p->pid)
		return err_set("threads[0].tid %" PRId32 " is not the pid",
			       p->threads[0].tid);
	for (uint32_t i = 0; i < p->nr_threads; i++)
		if (check_thread(img, &p->threads[i]))
			return err_wrap("thread %" PRIu32 " (tid %" PRId32 ")",
					i, p->threads[i].tid);
	return 0;
}

static int check_fd(const struct cr_image *img, const struct cr_fd *f,
		    int32_t prev_fd)
{
	if (f->fd < 0)
		return err_set("fd %" PRId32 " negative", f->fd);
	if (f->fd <= prev_fd)
		return err_set("fd %" PRId32 " not above the previous fd %" PRId32
			       " (fds must be unique and sorted)", f->fd, prev_fd);
	if (f->file >= img->nr_files)
		return err_set("file %" PRIu32 " not below nr_files %" PRIu32,
			       f->file, img->nr_files);
	if (f->cloexec > 1)
		return err_set("cloexec %" PRIu32 " not 0 or 1", f->cloexec);
	return 0;
}

static int check_fds(const struct cr_image *img, const struct cr_proc *p)
{
	int32_t prev_fd = -1;

	if (p->nr_fds > CR_MAX_FDS)
		return err_set("nr_fds %" PRIu32 " above %u", p->nr_fds, CR_MAX_FDS);
	if (check_array(p->fds, p->nr_fds, "fds"))
		return -1;
	for (uint32_t i = 0; i < p->nr_fds; i++) {
		if (check_fd(img, &p->fds[i], prev_fd))
			return err_wrap("fd entry %" PRIu32, i);
		prev_fd = p->fds[i].fd;
	}
	return 0;
}

static int check_lock(const struct cr_proc *p, const struct cr_lock *l)
{
	int has_fd = 0;

	for (uint32_t i = 0; i < p->nr_fds && !has_fd; i++)
		has_fd = p->fds[i].fd == l->fd;
	if (!has_fd)
		return err_set("fd %" PRId32 " is not one of the process's", l->fd);
	if (l->kind < CR_LOCK_FLOCK || l->kind > CR_LOCK_OFD)
		return err_set("kind %" PRIu32 " unknown", l->kind);
	if (l->write > 1)
		return err_set("write %" PRIu32 " not 0 or 1", l->write);
	if (l->kind == CR_LOCK_FLOCK && (l->start || l->len))
		return err_set("a flock with a range");
	if (l->start > INT64_MAX || l->len > INT64_MAX || l->start + l->len > INT64_MAX)
		return err_set("range %" PRIu64 "+%" PRIu64 " beyond the largest offset",
			       l->start, l->len);
	return 0;
}

static int check_locks(const struct cr_proc *p)
{
	if (p->nr_locks > CR_MAX_LOCKS)
		return err_set("nr_locks %" PRIu32 " above %d", p->nr_locks, CR_MAX_LOCKS);
	if (check_array(p->locks, p->nr_locks, "locks"))
		return -1;
	for (uint32_t i = 0; i < p->nr_locks; i++)
		if (check_lock(p, &p->locks[i]))
			return err_wrap("lock %" PRIu32, i);
	return 0;
}

static int check_timer(const struct cr_posix_timer *t)
{
	if (t->id < 0)
		return err_set("id %" PRId32 " negative", t->id);
	if (t->clock > CLOCK_MAX)
		return err_set("clock %" PRId32 " unknown", t->clock);
	if (t->notify != SIGEV_SIGNAL && t->notify != SIGEV_NONE &&
	    t->notify != SIGEV_THREAD_ID)
		return err_set("notify %" PRId32 " unknown", t->notify);
	if (t->notify != SIGEV_NONE && !valid_signo(t->signo))
		return err_set("signo %" PRId32 " not in 1..%d", t->signo,
			       CR_NSIG);
	if (t->signo < 0 || t->signo > CR_NSIG)
		return err_set("signo %" PRId32 " not in 0..%d", t->signo,
			       CR_NSIG);
	if (t->interval_ns < 0 || t->value_ns < 0)
		return err_set("negative interval or value");
	return 0;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

static int check_timers(const struct cr_proc *p)
{
	int32_t *ids;
	int rc = 0;

	if (check_array(p->timers, p->nr_timers, "timers"))
		return -1;
	for (uint32_t i = 0; i < p->nr_timers; i++)
		if (check_timer(&p->timers[i]))
			return err_wrap("timer %" PRIu32, i);
	if (p->nr_timers < 2)
		return 0;
	ids = malloc(p->nr_timers * sizeof(*ids));
	if (!ids)
		return err_sys("timers: malloc");
	for (uint32_t i = 0; i < p->nr_timers; i++)
		ids[i] = p->timers[i].id;
	qsort(ids, p->nr_timers, sizeof(*ids), cmp_i32);
	for (uint32_t i = 1; i < p->nr_timers && !rc; i++)
		if (ids[i] == ids[i - 1])
			rc = err_set("timer id %" PRId32 " used twice", ids[i]);
	free(ids);
	return rc;
}

static const char *const rlimit_names[CR_NR_RLIMITS] = {
	"CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE",
	"MEMLOCK", "AS", "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO",
	"RTTIME",
};

static int check_limits(const struct cr_proc *p)
{
	for (int i = 0; i < CR_NR_RLIMITS; i++)
		if (p->rlimits[i].cur > p->rlimits[i].max)
			return err_set("rlimit %d (%s): cur %" PRIu64 " above max %"
				       PRIu64, i, rlimit_names[i],
				       p->rlimits[i].cur, p->rlimits[i].max);
	for (int i = 0; i < 3; i++)
		if (p->itimers[i].interval_us < 0 || p->itimers[i].value_us < 0)
			return err_set("itimer %d: negative interval or value",
				       i);
	return 0;
}

static int check_creds(const struct cr_creds *c)
{
	if (c->nr_groups > MAX_GROUPS)
		return err_set("creds: nr_groups %" PRIu32 " above %d",
			       c->nr_groups, MAX_GROUPS);
	if (c->no_new_privs > 1)
		return err_set("creds: no_new_privs %" PRIu32 " not 0 or 1",
			       c->no_new_privs);
	return 0;
}

static int check_mm(const struct cr_mm *m)
{
	if (m->start_code > m->end_code || m->start_data > m->end_data ||
	    m->start_brk > m->brk || m->arg_start > m->arg_end ||
	    m->env_start > m->env_end)
		return err_set("mm: a start above its end (code, data, brk, "
			       "arg or env)");
	if (m->nr_auxv % 2 || m->nr_auxv > CR_AUXV_MAX * 2)
		return err_set("mm: nr_auxv %" PRIu32 " odd or above %d",
			       m->nr_auxv, CR_AUXV_MAX * 2);
	return check_path(m->exe_path, "mm: exe_path", false);
}

static int check_sigactions(const struct cr_proc *p)
{
	if (p->sigactions[SIGKILL - 1].handler ||
	    p->sigactions[SIGSTOP - 1].handler)
		return err_set("sigactions: SIGKILL/SIGSTOP handler not SIG_DFL");
	return 0;
}

/* The process's own fields (its ids against the others: check_tree()). */
static int check_proc_fields(const struct cr_proc *p)
{
	if (p->pid <= 0)
		return err_set("pid %" PRId32 " not positive", p->pid);
	if (p->ppid < 0 || p->pgid < 0 || p->sid < 0)
		return err_set("negative ppid, pgid or sid");
	if (p->zombie > 1)
		return err_set("zombie %" PRIu32 " not 0 or 1", p->zombie);
	if (p->exit_signal < 0 || p->exit_signal > CR_NSIG)
		return err_set("exit_signal %" PRId32 " not in 0..%d",
			       p->exit_signal, CR_NSIG);
	if (p->umask & ~0777u)
		return err_set("umask 0%" PRIo32 " above 0777", p->umask);
	if (check_comm(p->comm) || check_path(p->cwd, "cwd", !p->zombie) ||
	    check_path(p->root, "root", !p->zombie))
		return -1;
	return check_creds(&p->creds);
}

static int check_proc(const struct cr_image *img, const struct cr_proc *p)
{
	if (check_proc_fields(p) || check_limits(p) || check_mm(&p->mm) ||
	    check_sigactions(p) || check_timers(p))
		return -1;
	if (check_siginfos(p->shared_pending, p->nr_shared_pending,
			   "shared_pending"))
		return -1;
	if (check_threads(img, p) || check_vmas(img, p) || check_fds(img, p))
		return -1;
	return check_locks(p);
}

/* An id (pid or tid) and the index of the process it belongs to. */
struct id_ix {
	int32_t id;
	uint32_t ix;
};

static int cmp_id_ix(const void *a, const void *b)
{
	return cmp_i32(&((const struct id_ix *)a)->id,
		       &((const struct id_ix *)b)->id);
}

static const struct id_ix *find_id(const struct id_ix *v, size_t n, int32_t id)
{
	struct id_ix key = { .id = id };

	return bsearch(&key, v, n, sizeof(*v), cmp_id_ix);
}

/* Sort v and fail on the first id present twice. */
static int sort_unique(struct id_ix *v, size_t n, const char *what)
{
	qsort(v, n, sizeof(*v), cmp_id_ix);
	for (size_t i = 1; i < n; i++)
		if (v[i].id == v[i - 1].id)
			return err_set("%s %" PRId32 " used twice (procs %" PRIu32
				       " and %" PRIu32 ")", what, v[i].id,
				       v[i - 1].ix, v[i].ix);
	return 0;
}

/* Every pid unique, every ppid an earlier process. */
static int check_parents(const struct cr_image *img, struct id_ix *pids)
{
	const struct cr_proc *init = &img->procs[0];

	if (init->pid != 1 || init->ppid != 0)
		return err_set("proc 0 is pid %" PRId32 " ppid %" PRId32
			       ", not pid 1 ppid 0", init->pid, init->ppid);
	for (uint32_t i = 0; i < img->nr_procs; i++)
		pids[i] = (struct id_ix){ img->procs[i].pid, i };
	if (sort_unique(pids, img->nr_procs, "pid"))
		return -1;
	for (uint32_t i = 1; i < img->nr_procs; i++) {
		const struct cr_proc *p = &img->procs[i];
		const struct id_ix *parent = find_id(pids, img->nr_procs, p->ppid);

		if (!parent || parent->ix >= i)
			return err_set("proc %" PRIu32 " (pid %" PRId32 "): ppid %"
				       PRId32 " is not an earlier proc", i,
				       p->pid, p->ppid);
	}
	return 0;
}

/* A session or group whose leader is gone is made again by a helper at
 * restore (restore_tree.c): only for the first process's children (an
 * orphan goes to it; the others inherit it), with the group the
 * session's.  pids: sorted by
 * check_parents. */
static int check_sessions(const struct cr_image *img, const struct id_ix *pids)
{
	for (uint32_t i = 1; i < img->nr_procs; i++) {
		const struct cr_proc *p = &img->procs[i];
		const struct id_ix *parent = find_id(pids, img->nr_procs, p->ppid);
		int sid_gone = !find_id(pids, img->nr_procs, p->sid);

		/* (check_parents found every parent) */
		if (sid_gone && img->procs[parent->ix].sid != p->sid && p->ppid != 1)
			return err_set("pid %" PRId32 ": session %" PRId32 " has no leader and its "
				       "parent is not the tree's first process (unsupported)",
				       p->pid, p->sid);
		if (p->pgid != p->sid && !find_id(pids, img->nr_procs, p->pgid))
			return err_set("pid %" PRId32 ": process group %" PRId32 " has no leader "
				       "(unsupported)", p->pid, p->pgid);
	}
	return 0;
}

/* Do the parent's runs cover [addr, end), in VMAs of the kind? */
static int runs_cover(const struct cr_proc *p, uint32_t kind, uint64_t addr, uint64_t end)
{
	for (uint32_t i = 0; i < p->nr_vmas && addr < end; i++) {
		const struct cr_vma *v = &p->vmas[i];

		if (v->end <= addr)
			continue;
		if (v->start > addr || v->kind != kind)
			return 0;
		for (uint32_t k = 0; k < v->nr_runs && addr < end; k++) {
			const struct cr_page_run *r = &v->runs[k];
			uint64_t r_end = r->addr + r->nr_pages * CR_PAGE_SIZE;

			if (r_end <= addr)
				continue;
			if (r->addr > addr)
				return 0;
			addr = r_end;
		}
		if (addr < end && addr < v->end)
			return 0;
	}
	return addr >= end;
}

/* An INHERITED run names pages its live parent has at the same
 * addresses, in a VMA of the same kind (check_run has checked each run's
 * own range). */
static int check_inherited(const struct cr_image *img, const struct id_ix *pids)
{
	for (uint32_t i = 0; i < img->nr_procs; i++) {
		const struct cr_proc *p = &img->procs[i];
		const struct cr_proc *pp = i ? NULL : p;   /* the init: none */

		for (uint32_t m = 0; m < p->nr_vmas; m++)
			for (uint32_t k = 0; k < p->vmas[m].nr_runs; k++) {
				const struct cr_page_run *r = &p->vmas[m].runs[k];

				if (!(r->flags & CR_RUN_INHERITED))
					continue;
				if (!pp)
					pp = &img->procs[find_id(pids, img->nr_procs,
								 p->ppid)->ix];
				if (i == 0 || p->zombie || pp->zombie ||
				    !runs_cover(pp, p->vmas[m].kind, r->addr,
						r->addr + r->nr_pages * CR_PAGE_SIZE))
					return err_set("proc %" PRIu32 " (pid %" PRId32 "): vma %"
						       PRIu32 " run %" PRIu32 ": INHERITED, but "
						       "pid %" PRId32 "'s runs do not cover it",
						       i, p->pid, m, k, p->ppid);
			}
	}
	return 0;
}

/* SIGEV_THREAD_ID timers must name a thread of their own process. */
static int check_timer_targets(const struct cr_image *img,
			       const struct id_ix *tids, size_t n)
{
	for (uint32_t i = 0; i < img->nr_procs; i++) {
		const struct cr_proc *p = &img->procs[i];

		for (uint32_t j = 0; j < p->nr_timers; j++) {
			const struct cr_posix_timer *t = &p->timers[j];
			const struct id_ix *owner;

			if (t->notify != SIGEV_THREAD_ID)
				continue;
			owner = find_id(tids, n, t->notify_tid);
			if (!owner || owner->ix != i)
				return err_set("proc %" PRIu32 " (pid %" PRId32
					       "): timer %" PRIu32 ": notify_tid %"
					       PRId32 " not a thread of it", i,
					       p->pid, j, t->notify_tid);
		}
	}
	return 0;
}

/* Every pid and tid unique across the namespace. */
static int check_tids(const struct cr_image *img, struct id_ix *tids, size_t n)
{
	size_t k = 0;

	for (uint32_t i = 0; i < img->nr_procs; i++) {
		const struct cr_proc *p = &img->procs[i];

		tids[k++] = (struct id_ix){ p->pid, i };
		for (uint32_t j = 1; j < p->nr_threads; j++)
			tids[k++] = (struct id_ix){ p->threads[j].tid, i };
	}
	if (sort_unique(tids, n, "tid"))
		return -1;
	return check_timer_targets(img, tids, n);
}

static int check_tree(const struct cr_image *img)
{
	size_t nr_tids = 0;
	struct id_ix *ids;
	int rc;

	for (uint32_t i = 0; i < img->nr_procs; i++)
		nr_tids += 1 + (img->procs[i].nr_threads ?
				img->procs[i].nr_threads - 1 : 0);
	ids = malloc(nr_tids * sizeof(*ids));
	if (!ids)
		return err_sys("malloc %zu ids", nr_tids);
	rc = check_parents(img, ids);
	if (!rc)
		rc = check_sessions(img, ids);
	if (!rc)
		rc = check_inherited(img, ids);
	if (!rc)
		rc = check_tids(img, ids, nr_tids);
	free(ids);
	return rc;
}

/* ---- Validation of files (open file descriptions) ---- */

static int check_sockaddr(const struct cr_sockaddr *a, const char *what)
{
	if (a->len > CR_SOCKADDR_MAX)
		return err_set("%s: length %" PRIu32 " above %d", what, a->len,
			       CR_SOCKADDR_MAX);
	if (a->len && a->len < 2)
		return err_set("%s: length %" PRIu32 " shorter than a family",
			       what, a->len);
	return 0;
}

/* An AF_UNIX address: family AF_UNIX, path NUL-free up to its end (a
 * path name) or starting with NUL (an abstract name). */
static int check_unix_addr(const struct cr_sockaddr *a, const char *what)
{
	size_t n;

	if (!a->len)
		return 0;
	if (le_load(a->addr, 2) != AF_UNIX)
		return err_set("%s: family %" PRIu64 " not AF_UNIX", what,
			       le_load(a->addr, 2));
	if (a->len > 110)
		return err_set("%s: length %" PRIu32 " above 110", what, a->len);
	n = a->len - 2;
	if (n == 0)
		return err_set("%s: empty name", what);
	if (a->addr[2] && (a->addr[2] != '/' || memchr(a->addr + 2, '\0', n)))
		return err_set("%s: path name not absolute or with a NUL", what);
	return 0;
}

static int check_data(const struct cr_file *f)
{
	if (check_array(f->data, f->nr_data, "data"))
		return -1;
	for (uint32_t i = 0; i < f->nr_data; i++) {
		if (f->data[i].len > CR_BLOB_MAX)
			return err_set("data %" PRIu32 ": %" PRIu64 " bytes, above %u",
				       i, f->data[i].len, CR_BLOB_MAX);
		if (f->data[i].len && !f->data[i].data)
			return err_set("data %" PRIu32 ": NULL", i);
		if (f->kind == CR_FILE_MQUEUE ? f->data[i].flags >= CR_MQ_PRIO_MAX :
		    f->data[i].flags != 0)
			return err_set("data %" PRIu32 ": flags 0x%" PRIx32 " unknown",
				       i, f->data[i].flags);
	}
	return 0;
}

static int check_no_extras(const struct cr_file *f, bool data, bool ents,
			   bool path)
{
	if (!data && f->nr_data)
		return err_set("nr_data %" PRIu32 " for a kind without data",
			       f->nr_data);
	if (!ents && f->nr_ents)
		return err_set("nr_ents %" PRIu32 " for a kind without entries",
			       f->nr_ents);
	if (!path && f->path)
		return err_set("path for a kind without one");
	if (f->peer != CR_FILE_NONE && f->kind != CR_FILE_UNIX && f->kind != CR_FILE_TTY)
		return err_set("peer for a kind without one");
	if (f->laddr.len || f->raddr.len)
		if (f->kind != CR_FILE_UNIX && f->kind != CR_FILE_TCP &&
		    f->kind != CR_FILE_UDP)
			return err_set("socket address for a kind without one");
	return 0;
}

/* A removed file that is a shared object: one of the image that is not
 * SysV, as big as the file (to the page). */
static int check_reg_shmem(const struct cr_image *img, const struct cr_file *f)
{
	const struct cr_shmem *sh;

	if (f->obj >= img->nr_shmem)
		return err_set("shared object %" PRIu64 " of %" PRIu32, f->obj, img->nr_shmem);
	sh = &img->shmem[f->obj];
	if (sh->sysv || f->reg.size > sh->size || sh->size - f->reg.size >= CR_PAGE_SIZE)
		return err_set("size %" PRIu64 " is not that of shared object %" PRIu64
			       " (%" PRIu64 " bytes, sysv %" PRIu32 ")", f->reg.size, f->obj,
			       sh->size, sh->sysv);
	return 0;
}

static int check_reg(const struct cr_image *img, const struct cr_file *f)
{
	if (f->reg.unlinked > CR_REG_IN_SHMEM)
		return err_set("unlinked %" PRIu32 " not 0, 1 or 2", f->reg.unlinked);
	if (f->reg.mode & ~07777u)
		return err_set("mode 0%" PRIo32 " above 07777", f->reg.mode);
	if (f->nr_data != (f->reg.unlinked == CR_REG_UNLINKED))
		return err_set("nr_data %" PRIu32 " (a removed file with its content has 1, "
			       "others 0)", f->nr_data);
	if (f->reg.unlinked == CR_REG_IN_SHMEM) {
		if (check_reg_shmem(img, f))
			return -1;
	} else if (f->obj) {
		return err_set("obj for a file that is not a shared object");
	}
	if (f->reg.has_owner > 1 || (f->reg.has_owner && !f->reg.unlinked))
		return err_set("an owner (has_owner %" PRIu32 ") for a file not removed",
			       f->reg.has_owner);
	if (f->reg.has_owner && (f->reg.uid == UINT32_MAX || f->reg.gid == UINT32_MAX))
		return err_set("owner %" PRIu32 ":%" PRIu32 " (-1 is no id)", f->reg.uid,
			       f->reg.gid);
	if (f->reg.unlinked == CR_REG_UNLINKED && f->data[0].len != f->reg.size)
		return err_set("content %" PRIu64 " bytes, size %" PRIu64,
			       f->data[0].len, f->reg.size);
	if (f->reg.seals & ~CR_MEMFD_SEALS)
		return err_set("seals 0x%" PRIx32 " beyond 0x%x", f->reg.seals, CR_MEMFD_SEALS);
	if (f->reg.seals && !(f->reg.unlinked && f->path && !strncmp(f->path, "/memfd:", 7)))
		return err_set("seals on a file that is not a memfd");
	return check_path(f->path, "path", true);
}

static int check_dev(const struct cr_file *f)
{
	static const char *const ok[] = { "/dev/null", "/dev/zero", "/dev/random",
					   "/dev/urandom" };

	for (size_t i = 0; f->path && i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strcmp(f->path, ok[i]))
			return 0;
	return err_set("device path \"%s\" not /dev/null, zero, random or "
		       "urandom", f->path ? f->path : "");
}

static int check_pipe(const struct cr_file *f)
{
	uint32_t acc = f->flags & O_ACCMODE;

	if (f->pipe.has_data > 1)
		return err_set("has_data %" PRIu32 " not 0 or 1", f->pipe.has_data);
	if (!f->pipe.has_data && f->nr_data)
		return err_set("data without has_data");
	if (f->pipe.size < 4096 || f->pipe.size > (1u << 30))
		return err_set("pipe size %" PRIu32 " not in 4096..2^30",
			       f->pipe.size);
	if (f->kind == CR_FILE_PIPE && acc != O_RDONLY && acc != O_WRONLY)
		return err_set("pipe end neither read-only nor write-only");
	if (f->obj == 0)
		return err_set("pipe without an object id");
	return check_path(f->path, "path", f->kind == CR_FILE_FIFO);
}

/* A renamed or unlinked socket file: only for a path name; the current
 * name (path) exactly when renamed. */
static int check_unix_name(const struct cr_file *f)
{
	uint32_t s = f->un.name_state;

	if (s > CR_UNIX_NAME_UNLINKED)
		return err_set("name_state %" PRIu32 " unknown", s);
	if (s != CR_UNIX_NAME_BOUND && (f->laddr.len <= 2 || f->laddr.addr[2] != '/'))
		return err_set("name_state %" PRIu32 " without a path name", s);
	if ((s == CR_UNIX_NAME_RENAMED) != (f->path != NULL))
		return err_set("path present iff the socket file was renamed");
	return check_path(f->path, "path", false);
}

static int check_unix(const struct cr_image *img, const struct cr_file *f)
{
	const struct cr_file_unix *u = &f->un;

	if (u->type != SOCK_STREAM && u->type != SOCK_DGRAM &&
	    u->type != SOCK_SEQPACKET)
		return err_set("socket type %" PRIu32 " unknown", u->type);
	if (u->state < CR_UNIX_UNCONN || u->state > CR_UNIX_PEER_GONE)
		return err_set("socket state %" PRIu32 " unknown", u->state);
	if ((u->state == CR_UNIX_CONN) != (f->peer != CR_FILE_NONE))
		return err_set("peer %" PRIu32 " does not match state %" PRIu32,
			       f->peer, u->state);
	if (f->peer != CR_FILE_NONE && img->files[f->peer].kind != CR_FILE_UNIX)
		return err_set("peer %" PRIu32 " is not a unix socket", f->peer);
	if (f->peer != CR_FILE_NONE && img->files[f->peer].un.type != u->type)
		return err_set("peer %" PRIu32 " of another socket type", f->peer);
	if (u->state == CR_UNIX_LISTEN && u->type == SOCK_DGRAM)
		return err_set("a listening datagram socket");
	if ((u->state == CR_UNIX_CONN_EXT) != (f->raddr.len != 0))
		return err_set("raddr present iff connected outside the tree");
	if (u->passcred > 1 || u->name_mode & ~07777u)
		return err_set("passcred or name_mode out of range");
	if (u->rcvtimeo_us < 0 || u->sndtimeo_us < 0)
		return err_set("negative timeout");
	if (u->state == CR_UNIX_LISTEN && f->nr_data)
		return err_set("queued data on a listening socket");
	if (u->shutdown & ~(CR_UNIX_SHUT_RD | CR_UNIX_SHUT_WR))
		return err_set("shutdown 0x%" PRIx32 " has unknown bits", u->shutdown);
	if (u->custody && (u->state != CR_UNIX_LISTEN || !f->laddr.len))
		return err_set("custody tag on a unix socket that is not a bound listener");
	if (u->state == CR_UNIX_LISTEN && !f->laddr.len)
		return err_set("a listening socket without a name");
	if (u->backlog && u->state != CR_UNIX_LISTEN)
		return err_set("backlog on a socket that does not listen");
	if (f->peer != CR_FILE_NONE && u->type != SOCK_DGRAM &&
	    img->files[f->peer].peer != (uint32_t)(f - img->files))
		return err_set("stream peer %" PRIu32 " not connected back", f->peer);
	if (f->peer != CR_FILE_NONE &&
	    img->files[f->peer].peer != (uint32_t)(f - img->files) &&
	    !img->files[f->peer].laddr.len)
		return err_set("connected to peer %" PRIu32 ", which has no name", f->peer);
	if (u->state == CR_UNIX_CONN_EXT && u->type != SOCK_DGRAM)
		return err_set("a stream connected outside the tree");
	if (check_unix_addr(&f->laddr, "laddr") || check_unix_addr(&f->raddr, "raddr"))
		return -1;
	return check_unix_name(f);
}

/* A POSIX message queue: "/name" (one component), its attributes, and
 * its messages on one file per queue. */
static int check_mqueue(const struct cr_file *f)
{
	const struct cr_file_mqueue *q = &f->mq;

	if (check_path(f->path, "path", true))
		return -1;
	if (!f->path[1] || strchr(f->path + 1, '/'))
		return err_set("queue name \"%s\" not /NAME", f->path);
	if (q->unlinked > 1 || q->has_data > 1 || q->mode & ~0777u)
		return err_set("unlinked, has_data or mode out of range");
	if (q->maxmsg <= 0 || q->msgsize <= 0 || q->maxmsg > 65536 || q->msgsize > (1 << 24))
		return err_set("maxmsg %" PRId64 " or msgsize %" PRId64 " out of range",
			       q->maxmsg, q->msgsize);
	if (f->nr_data && !q->has_data)
		return err_set("messages on a file without has_data");
	if (f->nr_data > (uint64_t)q->maxmsg)
		return err_set("%" PRIu32 " messages, above maxmsg %" PRId64, f->nr_data,
			       q->maxmsg);
	for (uint32_t i = 0; i < f->nr_data; i++)
		if (f->data[i].len > (uint64_t)q->msgsize)
			return err_set("message %" PRIu32 ": %" PRIu64 " bytes, above msgsize %"
				       PRId64, i, f->data[i].len, q->msgsize);
	return 0;
}

static int check_netlink(const struct cr_file *f)
{
	const struct cr_file_netlink *n = &f->nl;

	if (n->protocol != NETLINK_ROUTE && n->protocol != NETLINK_KOBJECT_UEVENT)
		return err_set("netlink protocol %" PRIu32 " not supported", n->protocol);
	if (n->type != SOCK_RAW && n->type != SOCK_DGRAM)
		return err_set("netlink socket type %" PRIu32 " not RAW or DGRAM", n->type);
	if (n->opts & ~CR_NETLINK_O_MASK)
		return err_set("netlink options 0x%" PRIx32 " have unknown bits", n->opts);
	if (n->protocol == NETLINK_KOBJECT_UEVENT && (n->groups[0] > 1 || n->groups[1]))
		return err_set("uevent groups beyond group 1");
	if (n->dst_group > 32)
		return err_set("netlink dst_group %" PRIu32 " above 32", n->dst_group);
	return 0;
}

static int check_ents(const struct cr_file *f)
{
	if (check_array(f->ents, f->nr_ents, "ents"))
		return -1;
	for (uint32_t i = 0; i < f->nr_ents; i++) {
		const struct cr_file_ent *e = &f->ents[i];

		if (i && e->fd <= f->ents[i - 1].fd)
			return err_set("entry %" PRIu32 ": %" PRId32 " not above the "
				       "previous one", i, e->fd);
		if (f->kind == CR_FILE_EPOLL &&
		    (e->fd < 0 || e->path || (e->events & ~EPOLL_EVENTS_MASK)))
			return err_set("epoll entry %" PRIu32 ": bad fd, events or path", i);
		if (f->kind == CR_FILE_INOTIFY &&
		    (e->fd <= 0 || e->data || (e->events & ~(uint32_t)(IN_ALL_EVENTS |
		     IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_MASK_ADD |
		     IN_ONESHOT))))
			return err_set("inotify watch %" PRIu32 ": bad wd, mask or data", i);
		if (f->kind == CR_FILE_INOTIFY && check_path(e->path, "watch path", true))
			return err_wrap("inotify watch %" PRIu32, i);
	}
	return 0;
}

/* A slave's session: a session leader of the tree, its foreground group
 * one of that session's groups. */
static int check_tty_session(const struct cr_image *img, const struct cr_file_tty *t)
{
	bool leader = false, group = t->fg_pgrp == 0;

	for (uint32_t i = 0; i < img->nr_procs; i++) {
		const struct cr_proc *p = &img->procs[i];

		leader |= p->pid == t->sid && p->sid == t->sid;
		group |= p->pgid == t->fg_pgrp && p->sid == t->sid;
	}
	if (!leader)
		return err_set("tty session %" PRId32 " is no session leader of the tree", t->sid);
	if (!group)
		return err_set("tty foreground group %" PRId32 " is not in session %" PRId32,
			       t->fg_pgrp, t->sid);
	return 0;
}

/* Every slave of a pair agrees on its session; no session has two. */
static int check_tty_sessions(const struct cr_image *img, const struct cr_file *f)
{
	for (uint32_t i = 0; i < img->nr_files; i++) {
		const struct cr_file *o = &img->files[i];

		if (o == f || o->kind != CR_FILE_TTY || o->tty.master)
			continue;
		if (o->tty.index == f->tty.index && o->tty.sid != f->tty.sid)
			return err_set("slaves of pty %" PRIu32 " in different sessions",
				       f->tty.index);
		if (f->tty.sid && o->tty.sid == f->tty.sid && o->tty.index != f->tty.index)
			return err_set("session %" PRId32 " has two controlling terminals",
				       f->tty.sid);
	}
	return f->tty.sid ? check_tty_session(img, &f->tty) :
	       f->tty.fg_pgrp ? err_set("a foreground group without a session") : 0;
}

static int check_tty(const struct cr_image *img, const struct cr_file *f)
{
	const struct cr_file_tty *t = &f->tty;

	if (check_path(f->path, "path", true))
		return -1;
	if (t->master > 1 || t->locked > 1 || t->packet > 1 || t->exclusive > 1)
		return err_set("tty master, locked, packet or exclusive not 0 or 1");
	if (t->index > CR_TTY_INDEX_MAX)
		return err_set("pty index %" PRIu32 " above %d", t->index, CR_TTY_INDEX_MAX);
	if (t->line != 0)
		return err_set("line discipline %" PRIu32 " (only N_TTY, 0)", t->line);
	if (t->mode & ~07777u || t->sid < 0 || t->fg_pgrp < 0)
		return err_set("tty mode, session or group out of range");
	if (t->master) {
		if (f->peer != CR_FILE_NONE || t->exclusive || t->sid || t->fg_pgrp)
			return err_set("a pty master with a peer, exclusive mode or a session");
		for (uint32_t i = 0; i < img->nr_files; i++)
			if (&img->files[i] != f && img->files[i].kind == CR_FILE_TTY &&
			    img->files[i].tty.master && img->files[i].tty.index == t->index)
				return err_set("two masters of pty %" PRIu32, t->index);
		return 0;
	}
	if (t->locked || t->packet)
		return err_set("a pty slave locked or in packet mode (master states)");
	if (f->peer == CR_FILE_NONE || img->files[f->peer].kind != CR_FILE_TTY ||
	    !img->files[f->peer].tty.master || img->files[f->peer].tty.index != t->index)
		return err_set("pty slave %" PRIu32 " without its master", t->index);
	return check_tty_sessions(img, f);
}

/* What each kind may carry besides its own fields. */
static int check_extras(const struct cr_file *f)
{
	uint32_t k = f->kind;
	bool data = k == CR_FILE_REG || k == CR_FILE_PIPE || k == CR_FILE_FIFO ||
		    k == CR_FILE_UNIX || k == CR_FILE_TCP || k == CR_FILE_MQUEUE ||
		    k == CR_FILE_UDP;   /* UDP: its multicast state */
	bool ents = k == CR_FILE_EPOLL || k == CR_FILE_INOTIFY;
	bool path = k == CR_FILE_REG || k == CR_FILE_DIR || k == CR_FILE_DEV ||
		    k == CR_FILE_FIFO || k == CR_FILE_UNIX || k == CR_FILE_MQUEUE ||
		    k == CR_FILE_TCP || k == CR_FILE_UDP ||   /* inet: its interface */
		    k == CR_FILE_TTY;

	return check_no_extras(f, data, ents, path);
}

static int check_kind(const struct cr_image *img, const struct cr_file *f)
{
	if (f->kind < CR_FILE_REG || f->kind > CR_FILE_KIND_MAX)
		return err_set("kind %" PRIu32 " unknown", f->kind);
	if (check_extras(f))
		return -1;
	switch (f->kind) {
	case CR_FILE_REG:
		return check_reg(img, f);
	case CR_FILE_DIR:
		return check_path(f->path, "path", true);
	case CR_FILE_DEV:
		return check_dev(f);
	case CR_FILE_PIPE:
	case CR_FILE_FIFO:
		return check_pipe(f);
	case CR_FILE_UNIX:
		return check_unix(img, f);
	case CR_FILE_EPOLL:
	case CR_FILE_INOTIFY:
		return check_ents(f);
	case CR_FILE_TCP:
	case CR_FILE_UDP:
		return image_inet_check(f);
	case CR_FILE_NETLINK:
		return check_netlink(f);
	case CR_FILE_MQUEUE:
		return check_mqueue(f);
	case CR_FILE_TTY:
		return check_tty(img, f);
	case CR_FILE_EVENTFD:
		if (f->efd.semaphore > 1 || f->efd.count == UINT64_MAX)
			return err_set("eventfd semaphore or count out of range");
		return 0;
	case CR_FILE_TIMERFD:
		if (f->tfd.clock < 0 || f->tfd.clock > CLOCK_MAX ||
		    f->tfd.value_ns < 0 || f->tfd.interval_ns < 0)
			return err_set("timerfd clock, value or interval out of range");
		return 0;
	}
	return 0;   /* CR_FILE_SIGNALFD: any mask */
}

/* Is id a pid (or, for threads, a tid) of the tree? */
static bool tree_has_id(const struct cr_image *img, int32_t id, bool threads)
{
	for (uint32_t i = 0; i < img->nr_procs; i++) {
		const struct cr_proc *p = &img->procs[i];

		if (p->pid == id)
			return true;
		for (uint32_t k = 0; threads && k < p->nr_threads; k++)
			if (p->threads[k].tid == id)
				return true;
	}
	return false;
}

static int check_owner(const struct cr_image *img, const struct cr_file *f)
{
	if (f->owner_type < F_OWNER_TID || f->owner_type > F_OWNER_PGRP)
		return err_set("owner_type %" PRId32 " unknown", f->owner_type);
	if (f->owner < 0)
		return err_set("owner %" PRId32 " negative", f->owner);
	if (f->owner && !tree_has_id(img, f->owner, f->owner_type == F_OWNER_TID))
		return err_set("owner %" PRId32 " not in the tree", f->owner);
	if (f->sig < 0 || f->sig > CR_NSIG)
		return err_set("sig %" PRId32 " not in 0..%d", f->sig, CR_NSIG);
	return 0;
}

static int check_file(const struct cr_image *img, uint32_t id,
		      const struct cr_file *f)
{
	if (f->flags & ~CR_FILE_FLAGS_MASK)
		return err_set("flags 0%" PRIo32 " has unknown bits", f->flags);
	if ((f->flags & O_ACCMODE) == O_ACCMODE)
		return err_set("access mode 3");
	if (f->peer != CR_FILE_NONE && (f->peer >= img->nr_files || f->peer == id))
		return err_set("peer %" PRIu32 " not another file", f->peer);
	if (check_owner(img, f) || check_sockaddr(&f->laddr, "laddr") ||
	    check_sockaddr(&f->raddr, "raddr") || check_data(f))
		return -1;
	return check_kind(img, f);
}

static int check_files(const struct cr_image *img)
{
	if (img->nr_files > CR_MAX_FILES)
		return err_set("nr_files %" PRIu32 " above %u", img->nr_files,
			       CR_MAX_FILES);
	if (check_array(img->files, img->nr_files, "files"))
		return -1;
	for (uint32_t i = 0; i < img->nr_files; i++)
		if (check_file(img, i, &img->files[i]))
			return err_wrap("file %" PRIu32, i);
	return 0;
}

/* A box name (not a path): 1-23 of a-z 0-9 and '-', not starting with '-'. */
static int check_box_name(const char *s)
{
	size_t n;

	if (!s)
		return 0;
	n = strlen(s);
	if (n == 0 || n >= 24 || s[0] == '-' || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
		return err_set("box name '%.32s' invalid", s);
	return 0;
}

int image_check(const struct cr_image *img)
{
	if (check_box_name(img->box))
		return -1;
	if (img->xsave_size > CR_XSAVE_MAX)
		return err_set("xsave_size %" PRIu32 " above %d", img->xsave_size,
			       CR_XSAVE_MAX);
	if (!page_aligned(img->pages_size))
		return err_set("pages_size %" PRIu64 " not page aligned",
			       img->pages_size);
	if (img->nr_procs == 0 || img->nr_procs > CR_MAX_PROCS)
		return err_set("nr_procs %" PRIu32 " not in 1..%d", img->nr_procs,
			       CR_MAX_PROCS);
	if (check_array(img->procs, img->nr_procs, "procs") ||
	    check_array(img->shmem, img->nr_shmem, "shmem"))
		return -1;
	for (uint32_t i = 0; i < img->nr_shmem; i++)
		if (check_shmem(img, &img->shmem[i]))
			return err_wrap("shmem %" PRIu32, i);
	if (check_ipc(img))
		return -1;
	for (uint32_t i = 0; i < img->nr_procs; i++)
		if (check_proc(img, &img->procs[i]))
			return err_wrap("proc %" PRIu32 " (pid %" PRId32 ")", i,
					img->procs[i].pid);
	if (check_tree(img))
		return -1;
	return check_files(img);
}

/*
 * pageserver.c - the userfaultfd page server of a lazy restore (see lazy.h).
 *
 * Data: one struct space per restored address space (a userfaultfd), holding
 * every page of its lazy VMAs that the image stores, sorted by address, each
 * DUE (not in yet), IN (copied, or found present) or GONE (unmapped or
 * discarded by the process: it must not be written any more).
 *
 * One thread serves all spaces: it reads and answers every message first,
 * then copies one batch of due pages, and loops.  A space with nothing due
 * is closed.  UFFDIO_COPY fails with EAGAIN while the process is changing
 * its map (a fork or an munmap whose event is not read yet), so a batch
 * never lands in a range the server does not know the fate of; a fault
 * whose answer failed so is kept in its space's pending list and answered
 * again on every round until it goes through (its thread waits until then).
 */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "common/timing.h"
#include "mem/lazy.h"
#include "mem/written.h"

#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)   /* Linux 6.7 */
#endif

#define PAGE 4096ull
#define LAZY_MIN_PAGES 256      /* 1 MiB stored: below, eager is cheaper */
#define FILL_BATCH 256          /* pages per background UFFDIO_COPY */
#define FAULT_BATCH 16          /* pages copied from a faulting address on */
#define MAX_SPACES 1024
#define IDLE_PROBE_MS 1000
#define PENDING_RETRY_MS 1
#define PREFETCH_BATCH 1024     /* pages per UFFDIO_COPY of the ActiveSet */

enum page_state { DUE, IN, GONE };

/* lazy_page.flags (ActiveSet record) */
#define PF_TOUCHED 1            /* faulted in since the tree runs */
#define PF_PREFETCHED 2         /* installed before the tree resumed */
#define PF_WANT 4               /* (while prefetching) to install */
#define PF_AHEAD 8              /* put in after a faulting page, not seen */
#define PF_PROBE 16             /* ActiveSet page left out of the prefetch */

struct lazy_page {
	uint64_t addr;
	uint64_t off;            /* in the pages file */
	uint8_t state;
	uint8_t flags;           /* PF_* */
	uint8_t hist;            /* ActiveSet history mask from the image */
};

struct space {
	int uffd;
	pid_t pid;               /* 0 for a forked child (not known) */
	pid_t nspid;             /* pid in the tree, 0 if not known */
	int pidfd;               /* readable once the process ended, or -1 */
	struct mem_region *vr;   /* the lazy VMAs */
	size_t nvr;
	uint64_t *zt;            /* pages not stored that faulted (zero pages) */
	size_t nzt, capzt;
	struct lazy_page *pg;    /* sorted by addr */
	size_t n, due, cursor;
	uint64_t *pending;       /* faulting addresses still to answer (EAGAIN) */
	size_t nr_pending, cap_pending;
};

struct mem_server {
	const uint8_t *pages;
	uint64_t pages_len;
	pid_t tree_pid;
	int fill;                /* background fill (PICOCENTER_LAZY_FILL=0: off) */
	int filling;             /* ... started (mem_server_start_fill) */
	cpu_set_t cpus;          /* where the thread may run */
	int wake_fd;             /* eventfd: a space was added, or quit */
	pthread_mutex_t lock;    /* guards incoming and quit */
	struct space *incoming[MAX_SPACES];
	size_t nr_incoming;
	int quit;                /* 1: stop now */
	int recorded;            /* the ActiveSet was taken: spaces may close */
	int finishing;           /* 1: end when nothing is due */
	pthread_t thread;
	int running;
	struct space *sp[MAX_SPACES];   /* the thread's own */
	size_t nr_sp;
	struct mem_source src;   /* where pages come from, if not all mapped */
	int has_src;
	uint64_t base_size;      /* size of the pages of src.generation */
	int record;              /* ActiveSet record: WP copies, faults noted */
	struct mem_as prev;      /* the image's ActiveSet history */
	int ctl_fd;              /* control socket (mem_server_listen), or -1 */
	char failure[512];       /* why the tree was killed */
	const char *log_path;    /* where that is written, or NULL */
	/* counters (the thread's, but prefetch: guarded by lock) */
	uint64_t faults, faults_run, zero_faults, pages_faulted, pages_filled;
	uint64_t pages_prefetched, prefetched_touched, probes;
	uint64_t run_ns;         /* when the tree resumed */
};

int mem_vma_is_lazy(const struct cr_vma *v)
{
	uint64_t stored = 0;

	if (v->kind != CR_VMA_ANON ||
	    (v->flags & (CR_VMA_F_GROWSDOWN | CR_VMA_F_LOCKED | CR_VMA_F_WIPEONFORK)))
		return 0;
	for (uint32_t k = 0; k < v->nr_runs; k++)
		stored += v->runs[k].nr_pages;
	return stored >= LAZY_MIN_PAGES;
}

/* ---- spaces ---- */

static void space_free(struct space *sp)
{
	if (!sp)
		return;
	if (sp->uffd >= 0)
		close(sp->uffd);
	if (sp->pidfd >= 0)
		close(sp->pidfd);
	free(sp->pg);
	free(sp->pending);
	free(sp->vr);
	free(sp->zt);
	free(sp);
}

static struct space *space_from_vmas(int uffd, pid_t pid, const struct cr_vma *vmas,
				     uint32_t nr_vmas)
{
	struct space *sp = calloc(1, sizeof(*sp));
	size_t n = 0;

	if (!sp)
		return NULL;
	sp->uffd = uffd;
	sp->pid = pid;
	sp->pidfd = -1;
	for (uint32_t i = 0; i < nr_vmas; i++)
		if (mem_vma_is_lazy(&vmas[i])) {
			sp->nvr++;
			for (uint32_t k = 0; k < vmas[i].nr_runs; k++)
				n += vmas[i].runs[k].nr_pages;
		}
	sp->pg = calloc(n ? n : 1, sizeof(*sp->pg));
	sp->vr = calloc(sp->nvr ? sp->nvr : 1, sizeof(*sp->vr));
	if (!sp->pg || !sp->vr) {
		free(sp->pg);
		free(sp->vr);
		free(sp);
		return NULL;
	}
	sp->nvr = 0;
	for (uint32_t i = 0; i < nr_vmas; i++) {
		if (!mem_vma_is_lazy(&vmas[i]))
			continue;
		sp->vr[sp->nvr++] = (struct mem_region){ vmas[i].start, vmas[i].end };
		for (uint32_t k = 0; k < vmas[i].nr_runs; k++) {
			const struct cr_page_run *r = &vmas[i].runs[k];

			for (uint64_t j = 0; j < r->nr_pages; j++, sp->n++) {
				sp->pg[sp->n].addr = r->addr + j * PAGE;
				sp->pg[sp->n].off = r->file_off + j * PAGE;
				sp->pg[sp->n].state = DUE;
			}
		}
	}
	sp->due = sp->n;
	return sp;   /* vmas are sorted and runs in address order: pg is sorted */
}

/* A forked child's space: everything the parent had not lost is due again.
 * Pages the child got from the parent are found present (EEXIST); pages the
 * parent had filled after the fork copied its page tables are due in it. */
static struct space *space_fork(const struct space *parent, int uffd)
{
	struct space *sp = calloc(1, sizeof(*sp));

	if (!sp)
		return NULL;
	sp->uffd = uffd;
	sp->pidfd = -1;
	sp->pg = malloc((parent->n ? parent->n : 1) * sizeof(*sp->pg));
	if (!sp->pg) {
		free(sp);
		return NULL;
	}
	memcpy(sp->pg, parent->pg, parent->n * sizeof(*sp->pg));
	sp->n = parent->n;
	for (size_t i = 0; i < sp->n; i++) {
		if (sp->pg[i].state == IN)
			sp->pg[i].state = DUE;
		sp->due += sp->pg[i].state == DUE;
	}
	return sp;
}

/* First page at or above addr. */
static size_t find_page(const struct space *sp, uint64_t addr)
{
	size_t lo = 0, hi = sp->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sp->pg[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void set_state(struct space *sp, size_t i, uint8_t state)
{
	if (sp->pg[i].state == DUE && state != DUE)
		sp->due--;
	sp->pg[i].state = state;
}

static void drop_range(struct space *sp, uint64_t start, uint64_t end)
{
	for (size_t i = find_page(sp, start); i < sp->n && sp->pg[i].addr < end; i++)
		set_state(sp, i, GONE);
}

static int page_cmp(const void *a, const void *b)
{
	const struct lazy_page *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void move_range(struct space *sp, uint64_t from, uint64_t to, uint64_t len)
{
	for (size_t i = 0; i < sp->n; i++)
		if (sp->pg[i].state != GONE && sp->pg[i].addr >= from &&
		    sp->pg[i].addr < from + len)
			sp->pg[i].addr = sp->pg[i].addr - from + to;
	qsort(sp->pg, sp->n, sizeof(*sp->pg), page_cmp);
	sp->cursor = 0;
}

/* ---- copying ---- */

enum copy_result { COPY_OK, COPY_RETRY, COPY_DEAD, COPY_FATAL };

static void wake_page(struct space *sp, uint64_t addr)
{
	struct uffdio_range r = { .start = addr, .len = PAGE };

	ioctl(sp->uffd, UFFDIO_WAKE, &r);
}

/* The source has bytes [off, off+len) of the pages, or the tree dies. */
static int fetch_pages(struct mem_server *s, uint64_t off, uint64_t len)
{
	struct mem_range r = { off, len };

	if (!s->has_src || s->src.fetch(s->src.arg, &r, 1) == 0)
		return 0;
	snprintf(s->failure, sizeof(s->failure), "%s", err_msg());
	return -1;
}

/* Copy the due pages from pg[i] on that follow each other in memory and
 * in the file (and carry all of flags), at most max of them. */
static enum copy_result copy_stretch(struct mem_server *s, struct space *sp, size_t i,
				     size_t max, uint8_t flags)
{
	struct uffdio_copy uc;
	size_t n = 1, done;

	while (n < max && i + n < sp->n && sp->pg[i + n].state == DUE &&
	       (sp->pg[i + n].flags & flags) == flags &&
	       sp->pg[i + n].addr == sp->pg[i].addr + n * PAGE &&
	       sp->pg[i + n].off == sp->pg[i].off + n * PAGE)
		n++;
	if (fetch_pages(s, sp->pg[i].off, n * PAGE) < 0)
		return COPY_FATAL;
	memset(&uc, 0, sizeof(uc));
	uc.dst = sp->pg[i].addr;
	uc.src = (uint64_t)(uintptr_t)(s->pages + sp->pg[i].off);
	uc.len = n * PAGE;
	uc.mode = s->record ? UFFDIO_COPY_MODE_WP : 0;
	if (ioctl(sp->uffd, UFFDIO_COPY, &uc) == 0) {
		for (size_t k = 0; k < n; k++)
			set_state(sp, i + k, IN);
		return COPY_OK;
	}
	done = uc.copy > 0 ? (size_t)uc.copy / PAGE : 0;
	for (size_t k = 0; k < done && k < n; k++)
		set_state(sp, i + k, IN);
	if (done >= n)
		return COPY_OK;
	switch (errno) {
	case EEXIST:     /* present already (the child of a fork has it) */
		set_state(sp, i + done, IN);
		wake_page(sp, sp->pg[i + done].addr);
		return COPY_OK;
	case ENOENT:     /* no registered VMA there any more */
		set_state(sp, i + done, GONE);
		return COPY_OK;
	case EAGAIN:     /* the map is changing: read the events first */
		return COPY_RETRY;
	case ESRCH:      /* the process is gone */
		return COPY_DEAD;
	default:
		snprintf(s->failure, sizeof(s->failure), "UFFDIO_COPY at 0x%llx: %s",
			 (unsigned long long)sp->pg[i + done].addr, strerror(errno));
		return COPY_FATAL;
	}
}

static void note_zero_touch(struct mem_server *s, struct space *sp, uint64_t addr)
{
	if (!s->record)
		return;
	if (sp->nzt == sp->capzt) {
		size_t cap = sp->capzt ? sp->capzt * 2 : 64;
		uint64_t *v = realloc(sp->zt, cap * sizeof(*v));

		if (!v)
			return;   /* the record misses a page: it only costs a fault */
		sp->zt = v;
		sp->capzt = cap;
	}
	sp->zt[sp->nzt++] = addr;
}

/* A page that is not due faults: it reads as zero. */
static enum copy_result zero_page(struct space *sp, uint64_t addr)
{
	struct uffdio_zeropage z;

	memset(&z, 0, sizeof(z));
	z.range.start = addr;
	z.range.len = PAGE;
	if (ioctl(sp->uffd, UFFDIO_ZEROPAGE, &z) == 0)
		return COPY_OK;
	switch (errno) {
	case EEXIST:
	case ENOENT:
		wake_page(sp, addr);
		return COPY_OK;
	case EAGAIN:
		return COPY_RETRY;
	case ESRCH:
		return COPY_DEAD;
	default:
		return COPY_FATAL;
	}
}

static enum copy_result serve_fault(struct mem_server *s, struct space *sp, uint64_t addr)
{
	enum copy_result cr;
	size_t i;

	addr &= ~(PAGE - 1);
	i = find_page(sp, addr);
	if (i < sp->n && sp->pg[i].addr == addr && sp->pg[i].state == DUE) {
		uint64_t due = sp->due;

		cr = copy_stretch(s, sp, i, FAULT_BATCH, 0);
		if (cr == COPY_OK) {
			sp->pg[i].flags |= PF_TOUCHED;
			for (size_t k = i + 1; k < sp->n && k < i + FAULT_BATCH; k++)
				if (sp->pg[k].state == IN && !(sp->pg[k].flags & PF_TOUCHED))
					sp->pg[k].flags |= PF_AHEAD;
			s->pages_faulted += due - sp->due;
		}
		return cr;
	}
	cr = zero_page(sp, addr);
	if (cr == COPY_OK && !(i < sp->n && sp->pg[i].addr == addr)) {
		s->zero_faults++;
		note_zero_touch(s, sp, addr);
	}
	return cr;
}

/* One background batch: the next due pages (at most max) from the cursor. */
static enum copy_result fill_some(struct mem_server *s, struct space *sp, size_t max)
{
	while (sp->cursor < sp->n && sp->pg[sp->cursor].state != DUE)
		sp->cursor++;
	if (sp->cursor >= sp->n) {
		sp->cursor = 0;   /* due pages behind (after a move): start over */
		return COPY_OK;
	}
	return copy_stretch(s, sp, sp->cursor, max, 0);
}

/* ---- the server thread ---- */

/* A page could not be put in: rather than let the process go on with
 * wrong memory, end the tree. */
static void fatal(struct mem_server *s)
{
	if (s->tree_pid > 0)
		kill(s->tree_pid, SIGKILL);
	if (s->log_path) {
		int fd = open(s->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

		if (fd >= 0) {
			dprintf(fd, "picocenter page server: tree %d killed: %s\n",
				(int)s->tree_pid, s->failure[0] ? s->failure : "a page could not be put in");
			close(fd);
		}
	}
}

static int add_space(struct mem_server *s, struct space *sp)
{
	if (s->nr_sp >= MAX_SPACES)
		return -1;
	s->sp[s->nr_sp++] = sp;
	return 0;
}

/* Handle one message of sp; COPY_* as the copies went. */
static enum copy_result handle_msg(struct mem_server *s, struct space *sp,
				   const struct uffd_msg *m)
{
	struct space *child;

	switch (m->event) {
	case UFFD_EVENT_PAGEFAULT:
		s->faults++;
		s->faults_run += s->run_ns != 0;
		return serve_fault(s, sp, m->arg.pagefault.address);
	case UFFD_EVENT_FORK:
		child = space_fork(sp, (int)m->arg.fork.ufd);
		if (!child || add_space(s, child) < 0) {
			if (child)
				space_free(child);
			else
				close((int)m->arg.fork.ufd);
			return COPY_FATAL;
		}
		return COPY_OK;
	case UFFD_EVENT_REMAP:
		move_range(sp, m->arg.remap.from, m->arg.remap.to, m->arg.remap.len);
		return COPY_OK;
	case UFFD_EVENT_REMOVE:
	case UFFD_EVENT_UNMAP:
		drop_range(sp, m->arg.remove.start, m->arg.remove.end);
		return COPY_OK;
	default:
		return COPY_OK;
	}
}

static int keep_pending(struct space *sp, uint64_t addr)
{
	if (sp->nr_pending == sp->cap_pending) {
		size_t cap = sp->cap_pending ? sp->cap_pending * 2 : 16;
		uint64_t *v = realloc(sp->pending, cap * sizeof(*v));

		if (!v)
			return -1;
		sp->pending = v;
		sp->cap_pending = cap;
	}
	sp->pending[sp->nr_pending++] = addr;
	return 0;
}

/* Answer the faults kept for later; those that must still wait stay. */
static enum copy_result retry_pending(struct mem_server *s, struct space *sp)
{
	size_t kept = 0;

	for (size_t i = 0; i < sp->nr_pending; i++) {
		enum copy_result cr = serve_fault(s, sp, sp->pending[i]);

		if (cr == COPY_DEAD || cr == COPY_FATAL)
			return cr;
		if (cr == COPY_RETRY)
			sp->pending[kept++] = sp->pending[i];
	}
	sp->nr_pending = kept;
	return COPY_OK;
}

/* Read and handle every queued message of sp, then retry the faults that
 * had to wait for the events behind them. */
static enum copy_result drain(struct mem_server *s, struct space *sp)
{
	struct uffd_msg msgs[64];

	for (;;) {
		ssize_t r = read(sp->uffd, msgs, sizeof(msgs));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (size_t i = 0; i < (size_t)r / sizeof(msgs[0]); i++) {
			enum copy_result cr = handle_msg(s, sp, &msgs[i]);

			if (cr == COPY_RETRY &&
			    keep_pending(sp, msgs[i].arg.pagefault.address) < 0)
				return COPY_FATAL;
			if (cr == COPY_DEAD || cr == COPY_FATAL)
				return cr;
		}
	}
	return retry_pending(s, sp);
}

static void take_incoming(struct mem_server *s)
{
	uint64_t v;

	if (read(s->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nr_incoming; i++)
		if (add_space(s, s->incoming[i]) < 0)
			space_free(s->incoming[i]);
	s->nr_incoming = 0;
	pthread_mutex_unlock(&s->lock);
}

static void remove_space(struct mem_server *s, size_t i)
{
	space_free(s->sp[i]);
	s->sp[i] = s->sp[--s->nr_sp];
}

static int should_stop(struct mem_server *s)
{
	int quit, finishing, incoming;

	pthread_mutex_lock(&s->lock);
	quit = s->quit;
	finishing = s->finishing;
	incoming = s->nr_incoming > 0;
	pthread_mutex_unlock(&s->lock);
	return quit || (finishing && !incoming && s->nr_sp == 0);
}

static int fill_now(struct mem_server *s)
{
	int on;

	pthread_mutex_lock(&s->lock);
	on = s->fill && s->filling;
	pthread_mutex_unlock(&s->lock);
	return on;
}

static int any_due(const struct mem_server *s)
{
	for (size_t i = 0; i < s->nr_sp; i++)
		if (s->sp[i]->due)
			return 1;
	return 0;
}

static int any_pending(const struct mem_server *s)
{
	for (size_t i = 0; i < s->nr_sp; i++)
		if (s->sp[i]->nr_pending)
			return 1;
	return 0;
}

/* Filling: do not wait.  Faults waiting for an answer: look again soon.
 * Faults only (PICOCENTER_LAZY_FILL=0): a process that exits is only
 * noticed by a copy (ESRCH), so after a second of quiet one page per
 * process goes in. */
static int poll_timeout(const struct mem_server *s, int filling)
{
	if (filling && any_due(s))
		return 0;
	if (any_pending(s))
		return PENDING_RETRY_MS;
	if (!any_due(s))
		return s->nr_sp ? IDLE_PROBE_MS : -1;   /* kept for the record */
	return filling ? 0 : IDLE_PROBE_MS;
}

static void serve_ready(struct mem_server *s, const struct pollfd *pfd, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		enum copy_result cr = COPY_OK;

		if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP))
			cr = drain(s, s->sp[i]);
		else if (s->sp[i]->nr_pending)
			cr = retry_pending(s, s->sp[i]);
		if (cr == COPY_FATAL)
			fatal(s);
		if (cr == COPY_DEAD || cr == COPY_FATAL)
			remove_space(s, i);
	}
}

static void fill_round(struct mem_server *s, size_t max)
{
	for (size_t i = s->nr_sp; i-- > 0;) {
		enum copy_result cr = s->sp[i]->due ? fill_some(s, s->sp[i], max) : COPY_OK;

		if (cr == COPY_FATAL)
			fatal(s);
		if (cr == COPY_DEAD || cr == COPY_FATAL)
			remove_space(s, i);
	}
}

/* Close the spaces with nothing due: their processes are ordinary now.
 * Their queued messages are read first (a fork's child may need pages). */
static void close_finished(struct mem_server *s)
{
	for (size_t i = s->nr_sp; i-- > 0;) {
		if (s->sp[i]->due || (s->record && !s->recorded))
			continue;
		if (drain(s, s->sp[i]) == COPY_FATAL)
			fatal(s);
		if (!s->sp[i]->due)
			remove_space(s, i);
	}
}

static int process_ended(const struct space *sp)
{
	struct pollfd p = { .fd = sp->pidfd, .events = POLLIN };

	return sp->pidfd >= 0 && poll(&p, 1, 0) > 0;
}

/* Nothing happened for a while: forget the processes that ended.  Without
 * a pidfd (a forked child) only a copy notices that, so one page of such
 * a process goes in; with a source that is a fetch, which the other
 * processes are spared. */
static void idle_round(struct mem_server *s)
{
	for (size_t i = s->nr_sp; i-- > 0;) {
		struct space *sp = s->sp[i];
		enum copy_result cr = COPY_OK;

		if (process_ended(sp))
			cr = COPY_DEAD;
		else if (sp->due && sp->pidfd < 0)
			cr = fill_some(s, sp, 1);
		if (cr == COPY_FATAL)
			fatal(s);
		if (cr == COPY_DEAD || cr == COPY_FATAL)
			remove_space(s, i);
	}
}

static void serve_control(struct mem_server *s);

static void *server_main(void *arg)
{
	struct mem_server *s = arg;
	struct pollfd pfd[MAX_SPACES + 2];

	for (;;) {
		int filling = fill_now(s), ready, timeout;
		size_t n;

		take_incoming(s);
		close_finished(s);
		if (should_stop(s))
			break;
		n = s->nr_sp;
		for (size_t i = 0; i < n; i++)
			pfd[i] = (struct pollfd){ .fd = s->sp[i]->uffd, .events = POLLIN };
		pfd[n] = (struct pollfd){ .fd = s->wake_fd, .events = POLLIN };
		pfd[n + 1] = (struct pollfd){ .fd = s->ctl_fd, .events = POLLIN };
		timeout = poll_timeout(s, filling);
		ready = poll(pfd, n + 2, timeout);
		if (ready < 0 && errno != EINTR)
			break;
		serve_ready(s, pfd, n);
		if (ready > 0 && (pfd[n + 1].revents & POLLIN))
			serve_control(s);
		if (filling)
			fill_round(s, FILL_BATCH);
		else if (ready == 0 && timeout == IDLE_PROBE_MS)
			idle_round(s);
	}
	return NULL;
}

/* ---- ActiveSet: prefetch and record ---- */

/* Mark the pages to prefetch (PF_WANT) and set every listed page's
 * history.  In each block of MEM_AS_BLOCK_PAGES, the probes are left out
 * (PF_PROBE): the pages mem_as_is_probe picks, and one wanted page (a
 * different one each revival) in a block of MEM_AS_BLOCK_MIN_PROBE wanted
 * pages or more that has none, so that a block's use shows in faults. */
static void mark_wanted(struct mem_server *s, struct space *sp, const struct mem_as_proc *ap)
{
	uint64_t rev = s->prev.revival;

	for (size_t k = 0; k < ap->n; k++) {
		const struct mem_as_run *r = &ap->runs[k];
		size_t i = find_page(sp, r->addr);

		for (; i < sp->n && sp->pg[i].addr < r->addr + r->nr_pages * PAGE; i++) {
			sp->pg[i].hist = (uint8_t)r->mask;
			if (mem_as_wanted(r->mask) && sp->pg[i].state == DUE)
				sp->pg[i].flags |= PF_WANT;
		}
	}
	for (size_t i = 0; i < sp->n;) {
		uint64_t block = sp->pg[i].addr / (PAGE * MEM_AS_BLOCK_PAGES);
		size_t end = i, want = 0, probes = 0, pick;

		while (end < sp->n && sp->pg[end].addr / (PAGE * MEM_AS_BLOCK_PAGES) == block)
			want += (sp->pg[end++].flags & PF_WANT) != 0;
		for (size_t j = i; j < end; j++)
			if ((sp->pg[j].flags & PF_WANT) && mem_as_is_probe(sp->pg[j].addr, rev)) {
				sp->pg[j].flags ^= PF_WANT | PF_PROBE;
				probes++;
			}
		pick = want ? (size_t)(rev % want) : 0;
		for (size_t j = i; !probes && want >= MEM_AS_BLOCK_MIN_PROBE && j < end; j++)
			if ((sp->pg[j].flags & PF_WANT) && pick-- == 0) {
				sp->pg[j].flags ^= PF_WANT | PF_PROBE;
				probes++;
			}
		s->probes += probes;
		i = end;
	}
}

/* The file ranges of the wanted pages, merged where they follow. */
static int wanted_ranges(const struct space *sp, struct mem_range **out, size_t *nout)
{
	struct mem_range *v = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < sp->n; i++) {
		if (!(sp->pg[i].flags & PF_WANT))
			continue;
		if (n && v[n - 1].off + v[n - 1].len == sp->pg[i].off) {
			v[n - 1].len += PAGE;
			continue;
		}
		if (n == cap) {
			struct mem_range *nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));

			if (!nv) {
				free(v);
				return err_set("out of memory");
			}
			v = nv;
		}
		v[n++] = (struct mem_range){ sp->pg[i].off, PAGE };
	}
	*out = v;
	*nout = n;
	return 0;
}

/* Install the space's ActiveSet before the process runs: fetch it in one
 * batch, then UFFDIO_COPY it in large pieces. */
static int prefetch_space(struct mem_server *s, struct space *sp)
{
	const struct mem_as_proc *ap = sp->nspid ? mem_as_find(&s->prev, sp->nspid) : NULL;
	struct mem_range *r = NULL;
	uint64_t before = sp->due;
	size_t nr = 0;
	int rc = 0;

	if (!ap)
		return 0;
	mark_wanted(s, sp, ap);
	if (wanted_ranges(sp, &r, &nr) < 0)
		return -1;
	if (nr && s->has_src && s->src.fetch(s->src.arg, r, nr) < 0)
		rc = -1;
	free(r);
	for (size_t i = 0; rc == 0 && i < sp->n; i++) {
		if (!(sp->pg[i].flags & PF_WANT) || sp->pg[i].state != DUE)
			continue;
		if (copy_stretch(s, sp, i, PREFETCH_BATCH, PF_WANT) != COPY_OK)
			rc = err_sys("UFFDIO_COPY at 0x%llx", (unsigned long long)sp->pg[i].addr);
	}
	for (size_t i = 0; i < sp->n; i++) {
		if ((sp->pg[i].flags & PF_WANT) && sp->pg[i].state == IN)
			sp->pg[i].flags |= PF_PREFETCHED;
		sp->pg[i].flags &= (uint8_t)~PF_WANT;
	}
	pthread_mutex_lock(&s->lock);
	s->pages_prefetched += before - sp->due;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Blocks (MEM_AS_BLOCK_PAGES) in which the process was seen to use a page
 * during this revival: a fault, a zero-page fault or a write. */
static int live_blocks(const struct space *sp, const struct mem_regions *wr,
		       uint64_t **out, size_t *nout)
{
	const uint64_t bs = PAGE * MEM_AS_BLOCK_PAGES;
	size_t n = 0, cap = sp->nzt + 64;
	uint64_t *v = malloc(cap * sizeof(*v));

	if (!v)
		return err_set("out of memory");
	for (size_t i = 0; i < sp->nzt; i++)
		v[n++] = sp->zt[i] / bs;
	for (size_t i = 0; i < sp->n + wr->n; i++) {
		uint64_t a, e;

		if (i < sp->n) {
			if (!(sp->pg[i].flags & PF_TOUCHED))
				continue;
			a = sp->pg[i].addr / bs;
			e = a + 1;
		} else {
			a = wr->v[i - sp->n].start / bs;
			e = (wr->v[i - sp->n].end + bs - 1) / bs;
		}
		for (; a < e; a++) {
			if (n == cap) {
				uint64_t *nv = realloc(v, (cap *= 2) * sizeof(*v));

				if (!nv) {
					free(v);
					return err_set("out of memory");
				}
				v = nv;
			}
			v[n++] = a;
		}
	}
	qsort(v, n, sizeof(*v), u64_cmp);
	*out = v;
	*nout = n;
	return 0;
}

/* Blocks that had a probe this revival, sorted. */
static int probe_blocks(const struct space *sp, uint64_t **out, size_t *nout)
{
	uint64_t *v = malloc((sp->n ? sp->n : 1) * sizeof(*v));
	size_t n = 0;

	if (!v)
		return err_set("out of memory");
	for (size_t i = 0; i < sp->n; i++)
		if (sp->pg[i].flags & PF_PROBE)
			v[n++] = sp->pg[i].addr / (PAGE * MEM_AS_BLOCK_PAGES);
	*out = v;   /* pg is sorted by address: so is v */
	*nout = n;
	return 0;
}

/* How many times x is in the sorted v. */
static size_t count_u64(const uint64_t *v, size_t n, uint64_t x)
{
	size_t lo = 0, hi = n, c = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + c < n && v[lo + c] == x)
		c++;
	return c;
}

struct as_entry {
	uint64_t addr;
	uint32_t mask;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct as_entry *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Emit entries (sorted) as runs of equal masks. */
static void write_runs(struct mem_as_writer *w, struct as_entry *e, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;

		while (j < n && e[j].addr == e[i].addr + (j - i) * PAGE && e[j].mask == e[i].mask)
			j++;
		mem_as_writer_run(w, e[i].addr, j - i, e[i].mask);
		i = j;
	}
}

/* One process's new history: seen = faulted, written, prefetched in a
 * block seen in use, or put in after a faulting page in a block seen in
 * use more than once (a lone fault in a block says nothing of the pages
 * the fault brought in after it: a strided reader).  A prefetched page in
 * a block with no probe and no use is not known either way: its history
 * stays as it was. */
static int record_space(struct mem_server *s, struct space *sp, struct mem_as_writer *w)
{
	struct mem_regions wr;
	uint64_t *live = NULL, *probed = NULL;
	size_t nlive = 0, nprobed = 0, n = 0;
	struct as_entry *e;

	if (sp->pid <= 0 || sp->nspid <= 0)
		return 0;
	if (mem_written_pages(sp->pid, sp->vr, sp->nvr, &wr) < 0)
		return -1;
	if (live_blocks(sp, &wr, &live, &nlive) < 0 ||
	    probe_blocks(sp, &probed, &nprobed) < 0) {
		mem_regions_free(&wr);
		free(live);
		return -1;
	}
	e = malloc((sp->n + sp->nzt + 1) * sizeof(*e));
	for (size_t i = 0; e && i < sp->n; i++) {
		const struct lazy_page *p = &sp->pg[i];
		int written = mem_regions_has(&wr, p->addr);
		size_t uses = (p->flags & (PF_PREFETCHED | PF_AHEAD))
				      ? count_u64(live, nlive, p->addr / (PAGE * MEM_AS_BLOCK_PAGES))
				      : 0;
		int seen = (p->flags & PF_TOUCHED) || written ||
			   ((p->flags & PF_PREFETCHED) && uses >= 1) ||
			   ((p->flags & PF_AHEAD) && uses >= 2);
		int unknown = !seen && (p->flags & PF_PREFETCHED) &&
			      !count_u64(probed, nprobed, p->addr / (PAGE * MEM_AS_BLOCK_PAGES));
		uint32_t mask = unknown ? p->hist : mem_as_next_mask(p->hist, seen);

		if ((p->flags & PF_PREFETCHED) && seen)
			s->prefetched_touched++;
		if (mask)
			e[n++] = (struct as_entry){ p->addr, mask };
	}
	for (size_t i = 0; e && i < sp->nzt; i++) {
		size_t k = find_page(sp, sp->zt[i]);

		if (!(k < sp->n && sp->pg[k].addr == sp->zt[i]))
			e[n++] = (struct as_entry){ sp->zt[i], 1 };
	}
	mem_regions_free(&wr);
	free(live);
	free(probed);
	if (!e)
		return err_set("out of memory");
	qsort(e, n, sizeof(*e), entry_cmp);
	mem_as_writer_proc(w, sp->nspid);
	write_runs(w, e, n);
	free(e);
	return 0;
}

/* A page of the image as the restore put it: not fetched, or not written. */
static int page_kept(const struct space *sp, size_t i, const struct mem_regions *wr)
{
	return sp->pg[i].state == DUE ||
	       (sp->pg[i].state == IN && !mem_regions_has(wr, sp->pg[i].addr));
}

static int record_all(struct mem_server *s, struct mem_as_writer *w)
{
	s->prefetched_touched = 0;
	mem_as_writer_begin(w, s->prev.revival + 1);
	for (size_t i = 0; i < s->nr_sp; i++)
		if (record_space(s, s->sp[i], w) < 0)
			return -1;
	return mem_as_writer_end(w);
}

/* Incremental swap-out: every process's pages that are as the restore
 * put them, with their offsets in the pages of the source's generation.
 * Only when every process is known (a forked child's is not). */
static int keep_space(struct space *sp, struct mem_as_writer *w)
{
	struct mem_regions wr;

	if (mem_written_pages(sp->pid, sp->vr, sp->nvr, &wr) < 0)
		return -1;
	mem_as_writer_printf(w, "proc %d\n", (int)sp->nspid);
	for (size_t i = 0; i < sp->n;) {
		size_t j;

		if (!page_kept(sp, i, &wr)) {
			i++;
			continue;
		}
		for (j = i + 1; j < sp->n && page_kept(sp, j, &wr) &&
		     sp->pg[j].addr == sp->pg[i].addr + (j - i) * PAGE &&
		     sp->pg[j].off == sp->pg[i].off + (j - i) * PAGE; j++)
			;
		mem_as_writer_printf(w, "k %llx %llu %llx\n", (unsigned long long)sp->pg[i].addr,
			     (unsigned long long)(j - i), (unsigned long long)sp->pg[i].off);
		i = j;
	}
	mem_regions_free(&wr);
	return 0;
}

static int keep_all(struct mem_server *s, struct mem_as_writer *w)
{
	memset(w, 0, sizeof(*w));
	if (!s->record || !s->has_src || s->recorded)   /* recorded: being filled */
		return 1;
	for (size_t i = 0; i < s->nr_sp; i++)
		if (s->sp[i]->pid <= 0 || s->sp[i]->nspid <= 0)
			return 1;
	mem_as_writer_printf(w, "base %llu %llu\n", (unsigned long long)s->src.generation,
			     (unsigned long long)s->base_size);
	for (size_t i = 0; i < s->nr_sp; i++)
		if (keep_space(s->sp[i], w) < 0)
			return -1;
	mem_as_writer_printf(w, "end\n");
	return w->failed ? err_set("out of memory") : 0;
}

/* ---- control socket ---- */

static size_t stats_text(struct mem_server *s, char *out, size_t len)
{
	uint64_t due = 0, prefetched;
	size_t n;
	int r;

	for (size_t i = 0; i < s->nr_sp; i++)
		due += s->sp[i]->due;
	pthread_mutex_lock(&s->lock);
	prefetched = s->pages_prefetched;
	pthread_mutex_unlock(&s->lock);
	r = snprintf(out, len,
		     "faults %llu\nfaults_after_resume %llu\nzero_faults %llu\n"
		     "pages_faulted_in %llu\npages_filled %llu\npages_prefetched %llu\n"
		     "probes %llu\nprefetched_touched %llu\npages_due %llu\n",
		     (unsigned long long)s->faults, (unsigned long long)s->faults_run,
		     (unsigned long long)s->zero_faults, (unsigned long long)s->pages_faulted,
		     (unsigned long long)s->pages_filled, (unsigned long long)prefetched,
		     (unsigned long long)s->probes, (unsigned long long)s->prefetched_touched,
		     (unsigned long long)due);
	n = r < 0 ? 0 : (size_t)r < len ? (size_t)r : len - 1;
	if (s->has_src && n < len) {
		r = snprintf(out + n, len - n, "generation %llu\n",
			     (unsigned long long)s->src.generation);
		n += r < 0 ? 0 : (size_t)r < len - n ? (size_t)r : len - n - 1;
	}
	if (s->has_src && s->src.stats)
		n += s->src.stats(s->src.arg, out + n, len - n);
	return n;
}

static void start_filling(struct mem_server *s)
{
	pthread_mutex_lock(&s->lock);
	s->fill = 1;
	s->filling = 1;
	pthread_mutex_unlock(&s->lock);
}

/* 'G GEN SIZE': the tree was dumped incrementally and goes on running; its
 * pages are now those of generation GEN, SIZE bytes, of which the ones it
 * was restored from are the beginning. */
static int read_base(int fd, struct mem_server *s)
{
	char buf[64];
	unsigned long long gen, size;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, " %llu %llu", &gen, &size) != 2 || size < s->base_size)
		return -1;
	s->src.generation = gen;
	s->base_size = size;
	return 0;
}

static int peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) == 0 &&
	       (cr.uid == 0 || cr.uid == geteuid());
}

static void answer(struct mem_server *s, int fd, char cmd)
{
	struct mem_as_writer w;
	char text[2048];
	int rc;

	switch (cmd) {
	case 'S':
		write_full(fd, text, stats_text(s, text, sizeof(text)), -1);
		break;
	case 'R':
		if (!s->record) {
			write_full(fd, "none\n", 5, -1);
			break;
		}
		if (record_all(s, &w) == 0)
			write_full(fd, w.buf, w.len, -1);
		mem_as_writer_free(&w);
		err_clear();
		break;
	case 'I':
		rc = keep_all(s, &w);
		if (rc == 0)
			write_full(fd, w.buf, w.len, -1);
		mem_as_writer_free(&w);
		err_clear();
		if (rc != 0) {   /* the dump reads every page instead */
			s->recorded = 1;
			start_filling(s);
			write_full(fd, "none\n", 5, -1);
		}
		break;
	case 'G':
		if (read_base(fd, s) == 0)
			write_full(fd, "ok\n", 3, -1);
		break;
	case 'F':
		s->recorded = 1;
		start_filling(s);
		write_full(fd, "ok\n", 3, -1);
		break;
	default:
		break;
	}
}

static void serve_control(struct mem_server *s)
{
	int fd;

	while ((fd = accept4(s->ctl_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		struct timeval tv = { 1, 0 };
		char cmd = 0;

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (peer_allowed(fd) && read(fd, &cmd, 1) == 1)
			answer(s, fd, cmd);
		close(fd);
	}
}

/* ---- API ---- */

struct mem_server *mem_server_new(const uint8_t *pages, uint64_t len, pid_t tree_pid,
				  const cpu_set_t *cpus)
{
	struct mem_server *s = calloc(1, sizeof(*s));
	const char *fill = getenv("PICOCENTER_LAZY_FILL");

	if (!s)
		return NULL;
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->ctl_fd = -1;
	s->pages = pages;
	s->pages_len = len;
	s->tree_pid = tree_pid;
	s->fill = !(fill && !strcmp(fill, "0"));
	if (cpus)
		s->cpus = *cpus;
	return s;
}

static int uffd_setup(int uffd, pid_t pid, const struct cr_vma *vmas, uint32_t nr_vmas,
		      int record)
{
	struct uffdio_api api;

	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	api.features = UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP |
		       UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP |
		       (record ? UFFD_FEATURE_WP_ASYNC : 0);
	if (ioctl(uffd, UFFDIO_API, &api) < 0)
		return err_sys("pid %d: userfaultfd UFFDIO_API", pid);
	for (uint32_t i = 0; i < nr_vmas; i++) {
		const struct cr_vma *v = &vmas[i];
		struct uffdio_register reg;

		if (!mem_vma_is_lazy(v))
			continue;
		memset(&reg, 0, sizeof(reg));
		reg.range.start = v->start;
		reg.range.len = v->end - v->start;
		reg.mode = UFFDIO_REGISTER_MODE_MISSING | (record ? UFFDIO_REGISTER_MODE_WP : 0);
		if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
			return err_sys("pid %d: userfaultfd register 0x%llx (%llu pages)", pid,
				       (unsigned long long)v->start,
				       (unsigned long long)((v->end - v->start) / PAGE));
	}
	return 0;
}

static int start_thread(struct mem_server *s)
{
	pthread_attr_t attr;
	int rc;

	if (pthread_attr_init(&attr) != 0)
		return -1;
	if (CPU_COUNT(&s->cpus) > 0)
		pthread_attr_setaffinity_np(&attr, sizeof(s->cpus), &s->cpus);
	rc = pthread_create(&s->thread, &attr, server_main, s);
	pthread_attr_destroy(&attr);
	return rc;
}

void mem_server_use_source(struct mem_server *s, const struct mem_source *src, int fill)
{
	s->src = *src;
	s->has_src = 1;
	s->base_size = s->pages_len;
	s->fill = fill && s->fill;
}

void mem_server_set_log(struct mem_server *s, const char *path)
{
	s->log_path = path;
}

int mem_server_record(struct mem_server *s, const struct mem_as *prev)
{
	s->record = 1;
	if (!prev)
		return 0;
	s->prev.revival = prev->revival;
	s->prev.procs = calloc(prev->n ? prev->n : 1, sizeof(*s->prev.procs));
	if (!s->prev.procs)
		return err_set("out of memory");
	for (size_t i = 0; i < prev->n; i++) {
		const struct mem_as_proc *p = &prev->procs[i];
		struct mem_as_proc *q = &s->prev.procs[s->prev.n++];

		q->pid = p->pid;
		q->runs = malloc((p->n ? p->n : 1) * sizeof(*q->runs));
		if (!q->runs)
			return err_set("out of memory");
		memcpy(q->runs, p->runs, p->n * sizeof(*q->runs));
		q->n = p->n;
	}
	return 0;
}

int mem_server_listen(struct mem_server *s)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t nl;

	mem_control_name(s->tree_pid, a.sun_path, sizeof(a.sun_path), &nl);
	s->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->ctl_fd < 0)
		return err_sys("page server: socket");
	if (bind(s->ctl_fd, (struct sockaddr *)&a,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + nl)) < 0 ||
	    listen(s->ctl_fd, 16) < 0) {
		int rc = err_sys("page server: bind/listen on @%s", a.sun_path + 1);

		close(s->ctl_fd);
		s->ctl_fd = -1;
		return rc;
	}
	return 0;
}

void mem_server_start_fill(struct mem_server *s)
{
	uint64_t one = 1;
	ssize_t w;

	pthread_mutex_lock(&s->lock);
	s->filling = 1;
	s->run_ns = now_ns();
	pthread_mutex_unlock(&s->lock);
	w = write(s->wake_fd, &one, sizeof(one));
	(void)w;   /* fails only with a full counter, which wakes it too */
}

int mem_server_add(struct mem_server *s, int uffd, pid_t pid,
		   const struct cr_vma *vmas, uint32_t nr_vmas)
{
	return mem_server_add_proc(s, uffd, pid, 0, vmas, nr_vmas);
}

int mem_server_add_proc(struct mem_server *s, int uffd, pid_t pid, pid_t nspid,
			const struct cr_vma *vmas, uint32_t nr_vmas)
{
	struct space *sp;
	uint64_t one = 1;

	if (uffd_setup(uffd, pid, vmas, nr_vmas, s->record) < 0) {
		close(uffd);   /* closing unregisters whatever was */
		return -1;
	}
	sp = space_from_vmas(uffd, pid, vmas, nr_vmas);
	if (!sp) {
		close(uffd);
		return err_set("pid %d: page server: out of memory", pid);
	}
	sp->nspid = nspid;
	sp->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (sp->pidfd < 0) {
		space_free(sp);
		return err_sys("pid %d: pidfd_open", pid);
	}
	if (s->record && prefetch_space(s, sp) < 0) {
		space_free(sp);
		return err_wrap("pid %d: ActiveSet prefetch", pid);
	}
	pthread_mutex_lock(&s->lock);
	if (s->nr_incoming >= MAX_SPACES) {
		pthread_mutex_unlock(&s->lock);
		space_free(sp);
		return err_set("pid %d: page server: more than %d processes", pid, MAX_SPACES);
	}
	s->incoming[s->nr_incoming++] = sp;
	pthread_mutex_unlock(&s->lock);
	if (!s->running) {
		if (start_thread(s) != 0) {
			pthread_mutex_lock(&s->lock);
			s->nr_incoming--;
			pthread_mutex_unlock(&s->lock);
			space_free(sp);
			return err_set("pid %d: page server: cannot start its thread", pid);
		}
		s->running = 1;
	}
	if (write(s->wake_fd, &one, sizeof(one)) < 0)
		return err_sys("page server: wake");
	return 0;
}

static void server_stop(struct mem_server *s, int quit)
{
	uint64_t one = 1;

	pthread_mutex_lock(&s->lock);
	s->finishing = 1;
	s->quit = quit;
	pthread_mutex_unlock(&s->lock);
	if (s->running) {
		ssize_t w = write(s->wake_fd, &one, sizeof(one));   /* as above */

		(void)w;
		pthread_join(s->thread, NULL);
	}
	for (size_t i = 0; i < s->nr_sp; i++)
		space_free(s->sp[i]);
	for (size_t i = 0; i < s->nr_incoming; i++)
		space_free(s->incoming[i]);
	close(s->wake_fd);
	if (s->ctl_fd >= 0)
		close(s->ctl_fd);
	pthread_mutex_destroy(&s->lock);
	mem_as_free(&s->prev);
	if (s->has_src)
		s->src.release(s->src.arg);   /* the mapping goes with it */
	else if (!quit && s->pages)
		munmap((void *)s->pages, s->pages_len);
	free(s);
}

void mem_server_finish(struct mem_server *s)
{
	if (s)
		server_stop(s, 0);
}

void mem_server_abort(struct mem_server *s)
{
	if (s)
		server_stop(s, 1);
}

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
 *
 * With a source (a restore from the store), every copy first has the
 * source fetch the pages (pagecopy.c).  The ActiveSet (record.c) and the
 * control socket (ctlserver.c) work on the same data (server.h).
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "common/timing.h"
#include "mem/server.h"

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

static void drop_range(struct space *sp, uint64_t start, uint64_t end)
{
	for (size_t i = ps_find_page(sp, start); i < sp->n && sp->pg[i].addr < end; i++)
		ps_set_state(sp, i, GONE);
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
		ps_wake_page(sp, addr);
		return COPY_OK;
	case EAGAIN:
		return COPY_RETRY;
	case ESRCH:
		return COPY_DEAD;
	default:
		return COPY_FATAL;
	}
}

/* A fault on pg[to] continues the stream whose last fault was on
 * pg[from]: the reader went through the window that fault brought in, so
 * its pages count as used for the ActiveSet (a read of a page put in is
 * seen by nothing else; without this, read-ahead would hide the pages it
 * brings from the record). */
static void went_past(struct space *sp, size_t from, size_t to)
{
	if (from >= to || to > sp->n)
		return;   /* the map moved meanwhile: nothing to say */
	for (size_t k = from + 1; k < to; k++)
		if (sp->pg[k].state == IN && (sp->pg[k].flags & PF_AHEAD))
			sp->pg[k].flags |= PF_TOUCHED;
}

/* How many pages a fault on pg[i] copies: FAULT_BATCH, doubled (up to
 * FAULT_AHEAD_MAX) each time a fault lands in the stretch of the file
 * right after an earlier fault's, when each fetch from the store costs a
 * round trip (read-ahead: a reader going through its memory in order
 * waits for a few requests, not one every 16 pages).  Up to FAULT_STREAMS
 * such runs are followed at once (an app reading values in order while
 * it looks them up in a table elsewhere); a fault that continues none
 * starts one in place of the least recently grown.  *st: its stream. */
static size_t fault_window(const struct mem_server *s, struct space *sp, size_t i,
			   struct fault_stream **st)
{
	uint64_t off = sp->pg[i].off;
	struct fault_stream *old = &sp->streams[0];

	*st = NULL;
	if (!s->has_src)
		return FAULT_BATCH;
	sp->nfaults++;
	for (size_t k = 0; k < FAULT_STREAMS; k++) {
		struct fault_stream *f = &sp->streams[k];

		if (f->ahead && off >= f->next && off < f->next + (uint64_t)f->ahead * PAGE) {
			went_past(sp, f->last, i);
			f->ahead = f->ahead * 2 < FAULT_AHEAD_MAX ? f->ahead * 2 : FAULT_AHEAD_MAX;
			f->used = sp->nfaults;
			*st = f;
			return f->ahead;
		}
		if (f->used < old->used)
			old = f;
	}
	*old = (struct fault_stream){ .ahead = FAULT_BATCH, .used = sp->nfaults };
	*st = old;
	return FAULT_BATCH;
}

static enum copy_result serve_fault(struct mem_server *s, struct space *sp, uint64_t addr)
{
	enum copy_result cr;
	size_t i;

	addr &= ~(PAGE - 1);
	i = ps_find_page(sp, addr);
	if (i < sp->n && sp->pg[i].addr == addr && sp->pg[i].state == DUE) {
		uint64_t due = sp->due;
		struct fault_stream *st;
		size_t max = fault_window(s, sp, i, &st);

		cr = ps_copy_stretch(s, sp, i, max, 0);
		if (cr == COPY_OK) {
			if (st) {
				st->next = sp->pg[i].off + (due - sp->due) * PAGE;
				st->last = i;
			}
			sp->pg[i].flags |= PF_TOUCHED;
			for (size_t k = i + 1; k < sp->n && k < i + max; k++)
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
	return ps_copy_stretch(s, sp, sp->cursor, max, 0);
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

/* Faults of several threads read together: the stretches they will copy
 * are fetched from the source in one request first (its reads go in
 * parallel), so the threads wait for one round trip, not one each.  A
 * source that fails here fails for good (it retried until its timeout). */
static enum copy_result fetch_faults(struct mem_server *s, struct space *sp,
				     const struct uffd_msg *m, size_t n)
{
	struct mem_range r[64];
	size_t nr = 0;

	for (size_t k = 0; s->has_src && k < n && nr < 64; k++) {
		uint64_t addr = m[k].arg.pagefault.address & ~(PAGE - 1);
		size_t i;

		if (m[k].event != UFFD_EVENT_PAGEFAULT)
			continue;
		i = ps_find_page(sp, addr);
		if (i < sp->n && sp->pg[i].addr == addr && sp->pg[i].state == DUE)
			r[nr++] = (struct mem_range){ sp->pg[i].off,
						      ps_stretch_len(sp, i, FAULT_BATCH, 0) * PAGE };
	}
	if (nr < 2 || s->src.fetch(s->src.arg, r, nr) == 0)
		return COPY_OK;
	snprintf(s->failure, sizeof(s->failure), "%s", err_msg());
	return COPY_FATAL;
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
		if (fetch_faults(s, sp, msgs, (size_t)r / sizeof(msgs[0])) == COPY_FATAL)
			return COPY_FATAL;
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

static int u64_less(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Give the source back the memory of the pages no process still needs
 * (none of its pages due anywhere): a revived tree's working set is
 * then held once, in the tree, not twice. */
static void sweep_source(struct mem_server *s)
{
	uint64_t *due, at = 0;
	size_t n = 0, total = 0;

	/* Not before the tree runs: the restorer may still read the pages
	 * (rst_read_mem) between its fetch and its copy. */
	if (!s->has_src || !s->src.drop || s->copied == s->swept || !s->run_ns)
		return;
	for (size_t i = 0; i < s->nr_sp; i++)
		total += s->sp[i]->due;
	due = malloc((total ? total : 1) * sizeof(*due));
	if (!due)
		return;   /* only memory kept longer */
	for (size_t i = 0; i < s->nr_sp; i++)
		for (size_t k = 0; k < s->sp[i]->n && n < total; k++)
			if (s->sp[i]->pg[k].state == DUE)
				due[n++] = s->sp[i]->pg[k].off;
	qsort(due, n, sizeof(*due), u64_less);
	for (size_t i = 0; i <= n; i++) {
		uint64_t end = i < n ? due[i] : s->pages_len;

		if (end > at)
			s->src.drop(s->src.arg, at, end - at);
		if (i < n)
			at = due[i] + PAGE;
	}
	free(due);
	s->swept = s->copied;
}

/* The tree's init (the keeper's child) has exited: every process of its
 * PID namespace is gone with it.  Looked at without reaping it (the keeper
 * reaps it once the server stopped). */
static int tree_ended(const struct mem_server *s)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (s->tree_pid <= 0)
		return 0;
	if (waitid(P_PID, (id_t)s->tree_pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return 0;     /* not our child: the spaces' own checks decide */
	return si.si_pid == s->tree_pid;
}

/* Nothing happened for a while: forget the processes that ended.  Without
 * a pidfd (a forked child) only a copy notices that, so one page of such
 * a process goes in; with a source that is a fetch, which the other
 * processes are spared. */
static void idle_round(struct mem_server *s)
{
	/* A space kept for the ActiveSet record, of a forked process (no
	 * pidfd) with nothing due, is noticed by nothing else: the server
	 * and its keeper would wait for ever on a dead tree. */
	if (tree_ended(s)) {
		for (size_t i = s->nr_sp; i-- > 0;)
			remove_space(s, i);
		return;
	}
	for (size_t i = s->nr_sp; i-- > 0;) {
		struct space *sp = s->sp[i];
		enum copy_result cr = COPY_OK;

		if (process_ended(sp))
			cr = COPY_DEAD;
		else if (i == 0)
			sweep_source(s);
		else if (sp->due && sp->pidfd < 0)
			cr = fill_some(s, sp, 1);
		if (cr == COPY_FATAL)
			fatal(s);
		if (cr == COPY_DEAD || cr == COPY_FATAL)
			remove_space(s, i);
	}
}


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
			ps_serve_control(s);
		/* A fill with nothing left due is idle like any other server:
		 * only idle_round notices a tree that died. */
		if (filling && any_due(s))
			fill_round(s, FILL_BATCH);
		else if (ready == 0 && timeout == IDLE_PROBE_MS)
			idle_round(s);
	}
	return NULL;
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
	if (s->record && ps_prefetch_space(s, sp) < 0) {
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

/*
 * record.c - the ActiveSet in the page server (see mem/activeset.h and
 * docs/memory.md): installing a process's set before it resumes (all but
 * the probes, fetched in one batch, copied write-protected in large
 * pieces), recording which pages the tree used (faults, writes seen with
 * PAGEMAP_SCAN, probes, block by block), and telling an incremental dump
 * which pages are still as the restore put them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "mem/server.h"

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
		size_t i = ps_find_page(sp, r->addr);

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
int ps_prefetch_space(struct mem_server *s, struct space *sp)
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
		enum copy_result cr;

		if (!(sp->pg[i].flags & PF_WANT) || sp->pg[i].state != DUE)
			continue;
		cr = ps_copy_stretch(s, sp, i, PREFETCH_BATCH, PF_WANT);
		/* A stretch that runs into a page already there (inherited by a
		 * process forked from its restored parent, restore_fork.c) is
		 * copied in part and answered EAGAIN: go on after what it
		 * copied (a page left due is the faults' and the fill's). */
		if (cr == COPY_RETRY)
			continue;
		if (cr != COPY_OK)
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

/* Entries of one address (sorted: next to each other) made one, their
 * histories joined: a zero page put in (zt) may also be a page of the
 * image, and two runs of one page would be refused when read back. */
static size_t merge_same(struct as_entry *e, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (k && e[k - 1].addr == e[i].addr)
			e[k - 1].mask |= e[i].mask;
		else
			e[k++] = e[i];
	}
	return k;
}

/* Emit entries (sorted, one per address) as runs of equal masks. */
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
		size_t k = ps_find_page(sp, sp->zt[i]);

		if (!(k < sp->n && sp->pg[k].addr == sp->zt[i]))
			e[n++] = (struct as_entry){ sp->zt[i], 1 };
	}
	mem_regions_free(&wr);
	free(live);
	free(probed);
	if (!e)
		return err_set("out of memory");
	qsort(e, n, sizeof(*e), entry_cmp);
	n = merge_same(e, n);
	mem_as_writer_proc(w, sp->nspid);
	write_runs(w, e, n);
	free(e);
	return 0;
}

/* A page of the image as the restore put it: not written since, whether
 * this server put it in (IN) or not (DUE).  A DUE page is mostly not
 * there at all, but a late child's inherited pages are there from its
 * fork (restore_fork.c), never write-protected: PAGEMAP_SCAN counts them
 * written, and what the child wrote there is dumped again (it was lost
 * when every DUE page was kept: a preforked Python server's workers
 * crashed after their second revival). */
static int page_kept(const struct space *sp, size_t i, const struct mem_regions *wr)
{
	return (sp->pg[i].state == DUE || sp->pg[i].state == IN) &&
	       !mem_regions_has(wr, sp->pg[i].addr);
}

int ps_record_all(struct mem_server *s, struct mem_as_writer *w)
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

int ps_keep_all(struct mem_server *s, struct mem_as_writer *w)
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

/*
 * pagecopy.c - putting a space's stored pages in (see pageserver.c for
 * the data): find a page by address, set its state, copy a stretch of due
 * pages with UFFDIO_COPY (the source fetching them first, when there is
 * one), and wake a thread that waits on a page found present.  Below the
 * server thread (pageserver.c) and the ActiveSet (record.c), which both
 * copy.
 */
#include <errno.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "common/err.h"
#include "mem/server.h"

/* First page at or above addr. */
size_t ps_find_page(const struct space *sp, uint64_t addr)
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

void ps_set_state(struct space *sp, size_t i, uint8_t state)
{
	if (sp->pg[i].state == DUE && state != DUE)
		sp->due--;
	sp->pg[i].state = state;
}

void ps_wake_page(struct space *sp, uint64_t addr)
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
size_t ps_stretch_len(const struct space *sp, size_t i, size_t max, uint8_t flags)
{
	size_t n = 1;

	while (n < max && i + n < sp->n && sp->pg[i + n].state == DUE &&
	       (sp->pg[i + n].flags & flags) == flags &&
	       sp->pg[i + n].addr == sp->pg[i].addr + n * PAGE &&
	       sp->pg[i + n].off == sp->pg[i].off + n * PAGE)
		n++;
	return n;
}

enum copy_result ps_copy_stretch(struct mem_server *s, struct space *sp, size_t i,
				     size_t max, uint8_t flags)
{
	struct uffdio_copy uc;
	size_t n = ps_stretch_len(sp, i, max, flags), done;

	if (fetch_pages(s, sp->pg[i].off, n * PAGE) < 0)
		return COPY_FATAL;
	memset(&uc, 0, sizeof(uc));
	uc.dst = sp->pg[i].addr;
	uc.src = (uint64_t)(uintptr_t)(s->pages + sp->pg[i].off);
	uc.len = n * PAGE;
	uc.mode = s->record ? UFFDIO_COPY_MODE_WP : 0;
	s->copied += n;
	if (ioctl(sp->uffd, UFFDIO_COPY, &uc) == 0) {
		for (size_t k = 0; k < n; k++)
			ps_set_state(sp, i + k, IN);
		return COPY_OK;
	}
	done = uc.copy > 0 ? (size_t)uc.copy / PAGE : 0;
	for (size_t k = 0; k < done && k < n; k++)
		ps_set_state(sp, i + k, IN);
	if (done >= n)
		return COPY_OK;
	switch (errno) {
	case EEXIST:     /* present already (the child of a fork has it) */
		ps_set_state(sp, i + done, IN);
		ps_wake_page(sp, sp->pg[i + done].addr);
		return COPY_OK;
	case ENOENT:     /* no registered VMA there any more */
		ps_set_state(sp, i + done, GONE);
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

/*
 * dump_mem.c - memory contents of a stopped tree into DIR/pages.
 *
 * Private anonymous VMAs store their present pages; private file VMAs store
 * only pages that were copied on write (anonymous in /proc/PID/pagemap);
 * shared memory objects (shmem, memfd, shared anonymous) are stored once
 * per inode, read through /proc/PID/map_files; SysV segments of the
 * tree's IPC namespace come first (sysv_dump.c).  Pages that read as zero
 * are never stored.  Runs of stored pages are recorded in the image.
 *
 * Incremental (a tree restored lazily from the store): the pages the page
 * server says are as the restore put them are not read; their runs point
 * into the pages of the generation restored from, which DIR/pages
 * continues (new pages go after its size).
 *
 * Prefork sharing: before any page is read, the pages a child maps at the
 * same frame as its parent at the same address (in private anonymous and
 * private file VMAs the parent maps alike) are found (pagemap; root
 * sees frame numbers); their runs are marked CR_RUN_INHERITED once the
 * runs exist.  It must come first: process_vm_readv pins what it reads,
 * and pinning a page shared copy-on-write gives the reader's target a copy.
 * The processes that share are read through /proc/PID/mem instead, which
 * does not pin: a tree that goes on running keeps its sharing.
 *
 * ActiveSet first: a full dump of a tree whose ActiveSet was just recorded
 * (DIR/activeset) writes the pages of the set before all others, so that
 * the next restore reads them in a few chunks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "cr/dump_ctx.h"
#include "cr/sysv_ipc.h"
#include "mem/lazy.h"

#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)
#define PM_FILE (1ull << 61)
#define BATCH_PAGES 1024               /* 4 MiB read at a time */
#define PAGEMAP_BATCH 65536

struct page_sink {
	struct dump_ctx *ctx;
	struct cr_page_run **runs;
	uint32_t *nr_runs;
	uint32_t cap;
};

static const uint8_t zero_page[CR_PAGE_SIZE];

static int is_zero_page(const uint8_t *p)
{
	return memcmp(p, zero_page, CR_PAGE_SIZE) == 0;
}

static int sink_add_run(struct page_sink *s, uint64_t addr, uint64_t nr, uint64_t off)
{
	struct cr_page_run *last = *s->nr_runs ? &(*s->runs)[*s->nr_runs - 1] : NULL;

	if (last && last->addr + last->nr_pages * CR_PAGE_SIZE == addr &&
	    last->file_off + last->nr_pages * CR_PAGE_SIZE == off) {
		last->nr_pages += nr;
		return 0;
	}
	if (*s->nr_runs == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 16;
		struct cr_page_run *g = realloc(*s->runs, cap * sizeof(*g));

		if (!g)
			return err_set("out of memory for page runs");
		*s->runs = g;
		s->cap = cap;
	}
	(*s->runs)[(*s->nr_runs)++] = (struct cr_page_run){ addr, nr, off, 0 };
	return 0;
}

/* Append nr pages at buf (address addr) to DIR/pages, leaving out zero pages. */
static int sink_pages(struct page_sink *s, const uint8_t *buf, uint64_t addr, uint64_t nr)
{
	struct dump_ctx *ctx = s->ctx;
	uint64_t i = 0;

	while (i < nr) {
		uint64_t j;

		if (is_zero_page(buf + i * CR_PAGE_SIZE)) {
			i++;
			continue;
		}
		for (j = i + 1; j < nr && !is_zero_page(buf + j * CR_PAGE_SIZE); j++)
			;
		size_t len = (size_t)(j - i) * CR_PAGE_SIZE;
		const uint8_t *p = buf + i * CR_PAGE_SIZE;

		if (write_full(ctx->pages_fd, p, len, -1) < 0)
			return err_sys("write %s/pages", ctx->dir);
		XXH3_64bits_update(ctx->hash, p, len);
		if (sink_add_run(s, addr + i * CR_PAGE_SIZE, j - i, ctx->pages_off) < 0)
			return -1;
		ctx->pages_off += len;
		i = j;
	}
	return 0;
}

/* Read nr pages at addr (in a process: pid > 0, or at offset addr of a
 * file: fd) into buf and store them, in batches. */
static int copy_range(struct page_sink *s, pid_t pid, int fd, uint64_t addr,
		      uint64_t nr, uint8_t *buf)
{
	while (nr) {
		uint64_t n = nr < BATCH_PAGES ? nr : BATCH_PAGES;
		size_t len = (size_t)n * CR_PAGE_SIZE;
		struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
		ssize_t r = pid > 0 ? process_vm_readv(pid, &local, 1, &remote, 1, 0)
				    : pread(fd, buf, len, (off_t)addr);

		if (r < 0 && pid > 0 && errno == EFAULT)
			r = pread(fd, buf, len, (off_t)addr);  /* PROT_NONE and the like */
		if (r < 0)
			return err_sys("read %zu bytes at 0x%llx", len, (unsigned long long)addr);
		if ((size_t)r != len)
			return err_set("short read at 0x%llx", (unsigned long long)addr);
		if (sink_pages(s, buf, addr, n) < 0)
			return -1;
		nr -= n;
		addr += len;
	}
	return 0;
}

static int want_page(uint64_t pm, int file_backed)
{
	if (!(pm & (PM_PRESENT | PM_SWAPPED)))
		return 0;
	/* In a private file mapping only copied-on-write pages are ours. */
	return !(file_backed && (pm & PM_FILE));
}

/* Pages kept from the base at addr (0 if addr is not kept); *off: where
 * in the base, *next: the address of the next kept page above addr. */
static uint64_t kept_at(const struct mem_keep_proc *kp, size_t *cur, uint64_t addr,
			uint64_t *off, uint64_t *next)
{
	*next = UINT64_MAX;
	if (!kp)
		return 0;
	while (*cur < kp->n && kp->runs[*cur].addr + kp->runs[*cur].nr_pages * CR_PAGE_SIZE <= addr)
		(*cur)++;
	if (*cur >= kp->n)
		return 0;
	if (kp->runs[*cur].addr > addr) {
		*next = kp->runs[*cur].addr;
		return 0;
	}
	*off = kp->runs[*cur].off + (addr - kp->runs[*cur].addr);
	return (kp->runs[*cur].addr + kp->runs[*cur].nr_pages * CR_PAGE_SIZE - addr) / CR_PAGE_SIZE;
}

/* Which pages a pass takes: all, or only those the ActiveSet wants (the
 * first pass of a full dump), or only the others (the second). */
enum pass { PASS_ALL, PASS_AS, PASS_REST };

/* Is addr in a run of ap that the policy prefetches?  *next: the address
 * where that may change. */
static int as_wanted_at(const struct mem_as_proc *ap, size_t *cur, uint64_t addr,
			uint64_t *next)
{
	*next = UINT64_MAX;
	while (*cur < ap->n && ap->runs[*cur].addr + ap->runs[*cur].nr_pages * CR_PAGE_SIZE <= addr)
		(*cur)++;
	if (*cur >= ap->n)
		return 0;
	if (ap->runs[*cur].addr > addr) {
		*next = ap->runs[*cur].addr;
		return 0;
	}
	*next = ap->runs[*cur].addr + ap->runs[*cur].nr_pages * CR_PAGE_SIZE;
	return mem_as_wanted(ap->runs[*cur].mask);
}

/* Does this pass take the page at addr?  *next as above. */
static int pass_takes(enum pass pass, const struct mem_as_proc *ap, size_t *cur,
		      uint64_t addr, uint64_t *next)
{
	int in;

	*next = UINT64_MAX;
	if (pass == PASS_ALL)
		return 1;
	in = ap && as_wanted_at(ap, cur, addr, next);
	return pass == PASS_AS ? in : !in;
}

/* One VMA's scan, range by range (dump_vma_pages). */
struct vma_scan {
	struct dump_ctx *ctx;
	pid_t pid, read_pid;
	int mem_fd, pm_fd;
	const struct cr_vma *v;
	uint64_t *pm;
	uint8_t *buf;
	const struct mem_keep_proc *kp;
	enum pass pass;
	const struct mem_as_proc *ap;
	struct page_sink s;
	size_t kc, ac;              /* cursors in kp and ap: ranges go up */
};

/* The pages of [lo, hi) of the VMA that the pass takes: kept runs
 * referenced, present pages copied. */
static int scan_range(struct vma_scan *sc, uint64_t lo, uint64_t hi)
{
	uint64_t total = (hi - lo) / CR_PAGE_SIZE;
	int file_backed = sc->v->kind == CR_VMA_FILE;

	for (uint64_t base = 0; base < total; base += PAGEMAP_BATCH) {
		uint64_t n = total - base < PAGEMAP_BATCH ? total - base : PAGEMAP_BATCH;
		uint64_t addr = lo + base * CR_PAGE_SIZE;
		ssize_t r = pread(sc->pm_fd, sc->pm, n * 8, (off_t)(addr / CR_PAGE_SIZE * 8));

		if (r != (ssize_t)(n * 8))
			return err_sys("pid %d: read pagemap at 0x%llx", sc->pid,
				       (unsigned long long)addr);
		for (uint64_t i = 0; i < n;) {
			uint64_t j, koff = 0, next, pnext, a = addr + i * CR_PAGE_SIZE;
			uint64_t kn = kept_at(sc->kp, &sc->kc, a, &koff, &next);

			if (!pass_takes(sc->pass, sc->ap, &sc->ac, a, &pnext)) {
				i = pnext == UINT64_MAX ? n : (pnext - addr) / CR_PAGE_SIZE;
				i = i > n ? n : i;
				continue;
			}
			next = pnext < next ? pnext : next;

			if (kn) {
				kn = kn < n - i ? kn : n - i;
				if (sink_add_run(&sc->s, a, kn, koff) < 0)
					return -1;
				i += kn;
				continue;
			}
			if (!want_page(sc->pm[i], file_backed)) {
				i++;
				continue;
			}
			for (j = i + 1; j < n && want_page(sc->pm[j], file_backed) &&
			     addr + j * CR_PAGE_SIZE < next; j++)
				;

			if (copy_range(&sc->s, sc->read_pid, sc->mem_fd, a, j - i, sc->buf) < 0)
				return err_wrap("pid %d: vma 0x%llx-0x%llx", sc->pid,
						(unsigned long long)sc->v->start,
						(unsigned long long)sc->v->end);
			i = j;
		}
	}
	return 0;
}

/* A VMA with no page in memory or swap (smaps: Rss and Swap 0; a huge
 * PROT_NONE reservation, say: MariaDB keeps 8 TiB of one) has nothing to
 * read: only the runs kept from the previous image that lie in it are
 * scanned, not its whole page table. */
static int scan_kept_only(struct vma_scan *sc)
{
	const struct cr_vma *v = sc->v;

	for (size_t k = 0; sc->kp && k < sc->kp->n; k++) {
		const struct mem_keep_run *r = &sc->kp->runs[k];
		uint64_t lo = r->addr, hi = r->addr + r->nr_pages * CR_PAGE_SIZE;

		lo = lo > v->start ? lo : v->start;
		hi = hi < v->end ? hi : v->end;
		if (lo < hi && scan_range(sc, lo, hi) < 0)
			return -1;
	}
	return 0;
}

/* read_pid: as pid, or 0 to read through mem_fd (see dump_proc_memory). */
static int dump_vma_pages(struct dump_ctx *ctx, pid_t pid, pid_t read_pid, int mem_fd,
			  int pm_fd, struct cr_vma *v, uint64_t *pm, uint8_t *buf,
			  const struct mem_keep_proc *kp, enum pass pass,
			  const struct mem_as_proc *ap)
{
	struct vma_scan sc = { ctx, pid, read_pid, mem_fd, pm_fd, v, pm, buf, kp, pass, ap,
			       { ctx, &v->runs, &v->nr_runs, v->nr_runs }, 0, 0 };

	if (!v->rss_kb && !v->swap_kb)
		return scan_kept_only(&sc);
	return scan_range(&sc, v->start, v->end);
}

int dump_mem_object(struct dump_ctx *ctx, struct cr_shmem *sh, const uint8_t *mem, int fd)
{
	struct page_sink s = { ctx, &sh->runs, &sh->nr_runs, 0 };
	off_t data, hole;

	for (data = 0; (uint64_t)data < sh->size; data = hole) {
		data = lseek(fd, data, SEEK_DATA);
		if (data < 0)
			return errno == ENXIO ? 0 : err_sys("SEEK_DATA");
		data &= ~(off_t)(CR_PAGE_SIZE - 1);
		if ((uint64_t)data >= sh->size)
			return 0;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > sh->size)
			hole = (off_t)sh->size;
		hole = (hole + CR_PAGE_SIZE - 1) & ~(off_t)(CR_PAGE_SIZE - 1);
		if (sink_pages(&s, mem + data, (uint64_t)data,
			       (uint64_t)(hole - data) / CR_PAGE_SIZE) < 0)
			return -1;
	}
	return 0;
}

/* The (1-based) object already read for v's inode, or 0. */
static uint32_t find_shmem(const struct dump_ctx *ctx, const struct cr_vma *v)
{
	for (uint32_t j = 0; j < ctx->img.nr_shmem; j++)
		if (ctx->img.shmem[j].sysv && ctx->img.shmem[j].dev == v->dev &&
		    ctx->img.shmem[j].ino == v->ino)
			return j + 1;
	for (size_t k = 0; k < ctx->nr_tasks; k++) {
		const struct cr_proc *p = &ctx->img.procs[k];

		for (uint32_t m = 0; m < p->nr_vmas; m++)
			if (p->vmas[m].kind == CR_VMA_SHMEM && p->vmas[m].shmem_id &&
			    p->vmas[m].dev == v->dev && p->vmas[m].ino == v->ino)
				return p->vmas[m].shmem_id;
	}
	return 0;
}

/* Pages [data, hole) of a shared object of size bytes, read through fd.
 * A size that is not a page multiple (a POSIX semaphore's file holds 32
 * bytes) ends in a page read up to the end of the file, zero beyond, as
 * the mapping shows it. */
static int copy_object_range(struct page_sink *s, int fd, uint64_t data, uint64_t hole,
			     uint64_t size, uint8_t *buf)
{
	uint64_t whole = size & ~(uint64_t)(CR_PAGE_SIZE - 1);   /* end of whole pages */
	ssize_t r;

	if (hole <= whole)
		return copy_range(s, 0, fd, data, (hole - data) / CR_PAGE_SIZE, buf);
	if (data < whole && copy_range(s, 0, fd, data, (whole - data) / CR_PAGE_SIZE, buf) < 0)
		return -1;
	memset(buf, 0, CR_PAGE_SIZE);
	r = pread(fd, buf, (size_t)(size - whole), (off_t)whole);
	if (r < 0)
		return err_sys("read the last %llu bytes at 0x%llx",
			       (unsigned long long)(size - whole), (unsigned long long)whole);
	if ((uint64_t)r != size - whole)
		return err_set("short read at 0x%llx (the object shrank)", (unsigned long long)whole);
	return sink_pages(s, buf, whole, 1);
}

/* Index of the shmem object of v, adding (and reading) it if new. */
static int dump_shmem_object(struct dump_ctx *ctx, pid_t pid, struct cr_vma *v,
			     uint8_t *buf)
{
	struct cr_image *img = &ctx->img;
	struct cr_shmem *sh, *grown;
	struct page_sink s;
	struct stat st;
	char path[96];
	off_t data, hole;
	int fd, rc = 0;

	uint32_t id = find_shmem(ctx, v);

	if (id) {
		v->shmem_id = id;
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid,
		 (unsigned long long)v->start, (unsigned long long)v->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys("pid %d: open %s", pid, path);
	if (fstat(fd, &st) < 0) {
		close(fd);
		return err_sys("pid %d: fstat %s", pid, path);
	}
	grown = realloc(img->shmem, (img->nr_shmem + 1) * sizeof(*grown));
	if (!grown) {
		close(fd);
		return err_set("out of memory");
	}
	img->shmem = grown;
	sh = &img->shmem[img->nr_shmem++];
	memset(sh, 0, sizeof(*sh));
	sh->size = ((uint64_t)st.st_size + CR_PAGE_SIZE - 1) & ~(uint64_t)(CR_PAGE_SIZE - 1);
	v->shmem_id = img->nr_shmem;   /* 1-based while dumping, see dump_memory */
	s = (struct page_sink){ ctx, &sh->runs, &sh->nr_runs, 0 };
	for (data = 0; rc == 0 && (uint64_t)data < sh->size; data = hole) {
		data = lseek(fd, data, SEEK_DATA);
		if (data < 0)
			break;   /* ENXIO: no more data */
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > sh->size)
			hole = (off_t)sh->size;
		data &= ~(off_t)(CR_PAGE_SIZE - 1);
		hole = (hole + CR_PAGE_SIZE - 1) & ~(off_t)(CR_PAGE_SIZE - 1);
		rc = copy_object_range(&s, fd, (uint64_t)data, (uint64_t)hole,
				       (uint64_t)st.st_size, buf);
	}
	close(fd);
	return rc < 0 ? err_wrap("pid %d: shared memory %s", pid, path) : 0;
}

/* A process that shares pages copy-on-write with its parent or a child
 * (by_mem) is read through /proc/PID/mem: process_vm_readv pins the pages
 * it reads, and pinning a shared page gives the process its own copy, which
 * a tree that goes on running (--leave-running, a failed dump) would keep. */
static int dump_proc_memory(struct dump_ctx *ctx, struct dump_task *t, struct cr_proc *p,
			    uint64_t *pm, uint8_t *buf, enum pass pass, int by_mem)
{
	const struct mem_as_proc *ap = ctx->as ? mem_as_find(ctx->as, p->pid) : NULL;
	char path[64];
	int mem_fd, pm_fd, rc = 0;

	snprintf(path, sizeof(path), "/proc/%d/mem", t->host_pid);
	mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (mem_fd < 0)
		return err_sys("pid %d: open %s", p->pid, path);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", t->host_pid);
	pm_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pm_fd < 0) {
		close(mem_fd);
		return err_sys("pid %d: open %s", p->pid, path);
	}
	for (uint32_t i = 0; rc == 0 && i < p->nr_vmas; i++) {
		struct cr_vma *v = &p->vmas[i];
		int anon = v->kind == CR_VMA_ANON;

		if (pass == PASS_AS && !anon)
			continue;
		if (anon || v->kind == CR_VMA_FILE)
			rc = dump_vma_pages(ctx, t->host_pid, by_mem ? 0 : t->host_pid, mem_fd,
					    pm_fd, v, pm, buf,
					    anon ? mem_keep_find(ctx->keep, p->pid) : NULL,
					    anon ? pass : PASS_ALL, ap);
		else if (v->kind == CR_VMA_SHMEM)
			rc = dump_shmem_object(ctx, t->host_pid, v, buf);
	}
	close(pm_fd);
	close(mem_fd);
	return rc;
}

static int run_cmp(const void *a, const void *b)
{
	const struct cr_page_run *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* After two passes a VMA's runs are in file order: put them in address
 * order (the image's rule), joining those that follow in both. */
static void sort_all_runs(struct dump_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct cr_proc *p = &ctx->img.procs[i];

		for (uint32_t m = 0; m < p->nr_vmas; m++) {
			struct cr_vma *v = &p->vmas[m];
			uint32_t k = 0;

			if (v->nr_runs < 2)
				continue;
			qsort(v->runs, v->nr_runs, sizeof(*v->runs), run_cmp);
			for (uint32_t j = 1; j < v->nr_runs; j++) {
				struct cr_page_run *last = &v->runs[k];

				if (last->addr + last->nr_pages * CR_PAGE_SIZE == v->runs[j].addr &&
				    last->file_off + last->nr_pages * CR_PAGE_SIZE == v->runs[j].file_off)
					last->nr_pages += v->runs[j].nr_pages;
				else
					v->runs[++k] = v->runs[j];
			}
			v->nr_runs = k + 1;
		}
	}
}

/* ---- pages a child shares with its parent ---- */

#define PM_PFN_MASK ((1ull << 55) - 1)

/* The index of pid's live parent in the tree, or -1. */
static long parent_index(const struct dump_ctx *ctx, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (ctx->img.procs[j].pid == ctx->img.procs[i].ppid)
			return ctx->tasks[j].zombie ? -1 : (long)j;
	return -1;
}

/* Does the parent map [addr, end) as v does: a VMA of the same kind, for a
 * private file mapping the same file at the same offset? */
static int parent_same(const struct cr_proc *pp, const struct cr_vma *v, uint64_t addr,
		       uint64_t end)
{
	for (uint32_t i = 0; i < pp->nr_vmas; i++) {
		const struct cr_vma *pv = &pp->vmas[i];

		if (pv->start > addr || addr >= pv->end)
			continue;
		if (pv->kind != v->kind || end > pv->end)
			return 0;
		return v->kind == CR_VMA_ANON ||
		       (pv->path && v->path && !strcmp(pv->path, v->path) &&
			pv->pgoff - pv->start == v->pgoff - v->start);
	}
	return 0;
}

/* Where parent_same may next hold after failing at addr: the end of the
 * parent's VMA there, or the start of its next one (not page by page: a
 * VMA can span terabytes). */
static uint64_t parent_next(const struct cr_proc *pp, const struct cr_vma *v, uint64_t addr)
{
	uint64_t next = v->end;

	for (uint32_t i = 0; i < pp->nr_vmas; i++) {
		const struct cr_vma *pv = &pp->vmas[i];

		if (pv->start <= addr && addr < pv->end)
			return pv->end < v->end ? pv->end : v->end;
		if (pv->start > addr && pv->start < next)
			next = pv->start;
	}
	return next;
}

/* Same physical page in both (pagemap shows frame numbers to root only:
 * without them nothing is found shared). */
static int same_frame(uint64_t a, uint64_t b)
{
	return (a & PM_PRESENT) && (b & PM_PRESENT) && !(a & PM_SWAPPED) &&
	       (a & PM_PFN_MASK) && (a & PM_PFN_MASK) == (b & PM_PFN_MASK);
}

struct run_list {
	struct cr_page_run *v;
	uint32_t n, cap;
};

static int run_push(struct run_list *l, uint64_t addr, uint64_t nr, uint64_t off, uint32_t flags)
{
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 16;
		struct cr_page_run *g = realloc(l->v, cap * sizeof(*g));

		if (!g)
			return err_set("out of memory for page runs");
		l->v = g;
		l->cap = cap;
	}
	l->v[l->n++] = (struct cr_page_run){ addr, nr, off, flags };
	return 0;
}

/* The ranges of one private VMA of a child where it maps the very pages its
 * parent maps at the same addresses, appended to *l. */
static int shared_ranges(const struct cr_vma *v, const struct cr_proc *pp, int pm_fd,
			 int ppm_fd, uint64_t *pm, uint64_t *ppm, struct run_list *l)
{
	int file = v->kind == CR_VMA_FILE;   /* its copied-on-write pages only */

	if (!v->rss_kb)
		return 0;       /* no page in memory: none shared */
	for (uint64_t addr = v->start; addr < v->end;) {
		uint64_t n = (v->end - addr) / CR_PAGE_SIZE;
		off_t at = (off_t)(addr / CR_PAGE_SIZE * 8);

		n = n < PAGEMAP_BATCH ? n : PAGEMAP_BATCH;
		if (!parent_same(pp, v, addr, addr + CR_PAGE_SIZE)) {
			addr = parent_next(pp, v, addr);
			continue;
		}
		while (!parent_same(pp, v, addr, addr + n * CR_PAGE_SIZE))
			n /= 2;
		if (pread(pm_fd, pm, n * 8, at) != (ssize_t)(n * 8) ||
		    pread(ppm_fd, ppm, n * 8, at) != (ssize_t)(n * 8))
			return err_sys("read pagemap at 0x%llx", (unsigned long long)addr);
		for (uint64_t i = 0; i < n;) {
			uint64_t j = i + 1;

			if (!same_frame(pm[i], ppm[i]) || (file && (pm[i] & PM_FILE))) {
				i++;
				continue;
			}
			while (j < n && same_frame(pm[j], ppm[j]) && !(file && (pm[j] & PM_FILE)))
				j++;
			if (l->n && l->v[l->n - 1].addr + l->v[l->n - 1].nr_pages * CR_PAGE_SIZE ==
				    addr + i * CR_PAGE_SIZE)
				l->v[l->n - 1].nr_pages += j - i;
			else if (run_push(l, addr + i * CR_PAGE_SIZE, j - i, 0, 0) < 0)
				return -1;
			i = j;
		}
		addr += n * CR_PAGE_SIZE;
	}
	return 0;
}

static int open_pagemap(pid_t host_pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", host_pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		err_sys("open %s", path);
	return fd;
}

/* Before any page is read: which pages of each child are still its
 * parent's (reading a page with process_vm_readv pins it, and pinning a
 * page shared copy-on-write makes a copy of it). */
static int find_shared(struct dump_ctx *ctx, struct run_list *shared, uint64_t *pm,
		       uint64_t *ppm)
{
	for (size_t i = 1; i < ctx->nr_tasks; i++) {
		struct cr_proc *p = &ctx->img.procs[i];
		long j = ctx->tasks[i].zombie ? -1 : parent_index(ctx, i);
		int pm_fd, ppm_fd, rc = 0;

		if (j < 0)
			continue;
		pm_fd = open_pagemap(ctx->tasks[i].host_pid);
		ppm_fd = pm_fd < 0 ? -1 : open_pagemap(ctx->tasks[j].host_pid);
		for (uint32_t m = 0; ppm_fd >= 0 && rc == 0 && m < p->nr_vmas; m++)
			if (p->vmas[m].kind == CR_VMA_ANON || p->vmas[m].kind == CR_VMA_FILE)
				rc = shared_ranges(&p->vmas[m], &ctx->img.procs[j], pm_fd, ppm_fd,
						   pm, ppm, &shared[i]);
		if (pm_fd >= 0)
			close(pm_fd);
		if (ppm_fd >= 0)
			close(ppm_fd);
		if (pm_fd < 0 || ppm_fd < 0 || rc < 0)
			return err_wrap("pid %d: pages shared with its parent", p->pid);
	}
	return 0;
}

/* Split the runs of one VMA where they enter or leave the shared ranges
 * (sorted, *cur: the first that may still matter). */
static int mark_vma(struct cr_vma *v, const struct run_list *sh, uint32_t *cur)
{
	struct run_list out = { NULL, 0, 0 };
	int found = 0;

	for (uint32_t k = 0; k < v->nr_runs; k++) {
		const struct cr_page_run *r = &v->runs[k];
		uint64_t a = r->addr, end = r->addr + r->nr_pages * CR_PAGE_SIZE;

		while (a < end) {
			uint64_t next = end;
			uint32_t flags = 0;

			while (*cur < sh->n &&
			       sh->v[*cur].addr + sh->v[*cur].nr_pages * CR_PAGE_SIZE <= a)
				(*cur)++;
			if (*cur < sh->n && sh->v[*cur].addr <= a) {
				uint64_t s_end = sh->v[*cur].addr + sh->v[*cur].nr_pages * CR_PAGE_SIZE;

				flags = CR_RUN_INHERITED;
				next = s_end < end ? s_end : end;
				found = 1;
			} else if (*cur < sh->n && sh->v[*cur].addr < end) {
				next = sh->v[*cur].addr;
			}
			if (run_push(&out, a, (next - a) / CR_PAGE_SIZE,
				     r->file_off + (a - r->addr), flags) < 0) {
				free(out.v);
				return -1;
			}
			a = next;
		}
	}
	if (!found) {
		free(out.v);
		return 0;
	}
	free(v->runs);
	v->runs = out.v;
	v->nr_runs = out.n;
	return 0;
}

static int mark_inherited(struct dump_ctx *ctx, const struct run_list *shared)
{
	for (size_t i = 1; i < ctx->nr_tasks; i++) {
		struct cr_proc *p = &ctx->img.procs[i];
		uint32_t cur = 0;

		for (uint32_t m = 0; shared[i].n && m < p->nr_vmas; m++)
			if (p->vmas[m].nr_runs && mark_vma(&p->vmas[m], &shared[i], &cur) < 0)
				return -1;
	}
	return 0;
}

int dump_memory(struct dump_ctx *ctx)
{
	uint64_t *pm = malloc(PAGEMAP_BATCH * 8);
	uint8_t *buf = aligned_alloc(CR_PAGE_SIZE, BATCH_PAGES * CR_PAGE_SIZE);
	struct run_list *shared = NULL;
	char *by_mem = NULL;
	int rc = 0;

	if (!pm || !buf) {
		free(pm);
		free(buf);
		return err_set("out of memory for page buffers");
	}
	shared = calloc(ctx->nr_tasks, sizeof(*shared));
	by_mem = calloc(ctx->nr_tasks, 1);
	rc = shared && by_mem ? find_shared(ctx, shared, pm, (uint64_t *)(void *)buf)
			      : err_set("out of memory");
	for (size_t i = 1; rc == 0 && i < ctx->nr_tasks; i++)
		if (shared[i].n) {
			by_mem[i] = 1;
			by_mem[parent_index(ctx, i)] = 1;
		}
	if (ctx->as && !ctx->keep) {   /* the ActiveSet first, then the rest */
		for (size_t i = 0; rc == 0 && i < ctx->nr_tasks; i++)
			if (!ctx->tasks[i].zombie)
				rc = dump_proc_memory(ctx, &ctx->tasks[i], &ctx->img.procs[i], pm,
						      buf, PASS_AS, by_mem[i]);
		for (size_t i = 0; rc == 0 && i < ctx->nr_tasks; i++)
			if (!ctx->tasks[i].zombie)
				rc = dump_proc_memory(ctx, &ctx->tasks[i], &ctx->img.procs[i], pm,
						      buf, PASS_REST, by_mem[i]);
		sort_all_runs(ctx);
	} else {
		for (size_t i = 0; rc == 0 && i < ctx->nr_tasks; i++)
			if (!ctx->tasks[i].zombie)
				rc = dump_proc_memory(ctx, &ctx->tasks[i], &ctx->img.procs[i], pm,
						      buf, PASS_ALL, by_mem[i]);
	}
	if (rc == 0)
		rc = mark_inherited(ctx, shared);
	for (size_t i = 0; shared && i < ctx->nr_tasks; i++)
		free(shared[i].v);
	free(shared);
	free(by_mem);
	free(pm);
	free(buf);
	/* shmem_id was 1-based while objects were being found. */
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		for (uint32_t m = 0; m < ctx->img.procs[i].nr_vmas; m++)
			if (ctx->img.procs[i].vmas[m].kind == CR_VMA_SHMEM &&
			    ctx->img.procs[i].vmas[m].shmem_id)
				ctx->img.procs[i].vmas[m].shmem_id--;
	return rc;
}

/* ---- incremental swap-out ---- */

/* Incremental only while at least half of the base is still referenced:
 * the pages file of each generation is its base plus what changed, so
 * this bounds the unreferenced bytes a restore never reads but the store
 * keeps; below it, the dump is a full one again. */
#define KEEP_MIN_SHARE 2

/* A full dump lays out the ActiveSet the page server just handed over
 * (DIR/activeset) first. */
static int load_activeset(struct dump_ctx *ctx)
{
	struct mem_as as;
	if (mem_as_read_or_skip(ctx->dir, &as) != 0)
		return 0;
	ctx->as = malloc(sizeof(*ctx->as));
	if (!ctx->as) {
		mem_as_free(&as);
		return err_set("out of memory");
	}
	*ctx->as = as;
	return 0;
}

int dump_plan_memory(struct dump_ctx *ctx, int incremental)
{
	struct mem_keep k;
	int rc;

	if (incremental) {
		rc = mem_keep_take(ctx->init, &k);
		if (rc < 0)
			return -1;
		if (rc == 1)
			return 0;   /* no page server, or it brings every page in */
		if (k.kept_pages * CR_PAGE_SIZE * KEEP_MIN_SHARE >= k.base_size) {
			ctx->keep = malloc(sizeof(*ctx->keep));
			if (!ctx->keep) {
				mem_keep_free(&k);
				return err_set("out of memory");
			}
			*ctx->keep = k;
			return 0;
		}
		mem_keep_free(&k);
	}
	if (load_activeset(ctx) < 0)
		return -1;
	return mem_request_fill(ctx->init);
}

void dump_keep_free(struct dump_ctx *ctx)
{
	if (ctx->as) {
		mem_as_free(ctx->as);
		free(ctx->as);
		ctx->as = NULL;
	}
	if (!ctx->keep)
		return;
	mem_keep_free(ctx->keep);
	free(ctx->keep);
	ctx->keep = NULL;
}

int dump_mem_kept(const struct dump_ctx *ctx, const struct cr_proc *p)
{
	return ctx->keep && mem_keep_find(ctx->keep, p->pid) != NULL;
}

int dump_write_base(struct dump_ctx *ctx)
{
	char path[4200], text[96];
	int fd, n, rc = 0;

	snprintf(path, sizeof(path), "%s/.pages-base", ctx->dir);
	n = snprintf(text, sizeof(text), "base %llu %llu\n",
		     (unsigned long long)ctx->keep->base_gen,
		     (unsigned long long)ctx->keep->base_size);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys("create %s", path);
	if (write_full(fd, text, (size_t)n, 0) < 0)
		rc = err_sys("write %s", path);
	if (close(fd) < 0 && rc == 0)
		rc = err_sys("close %s", path);
	return rc;
}

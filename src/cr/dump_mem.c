/*
 * dump_mem.c - memory contents of a stopped tree into DIR/pages.
 *
 * Private anonymous VMAs store their present pages; private file VMAs store
 * only pages that were copied on write (anonymous in /proc/PID/pagemap);
 * shared memory objects (shmem, memfd, shared anonymous) are stored once
 * per inode, read through /proc/PID/map_files; SysV segments of the
 * tree's IPC namespace come first (sysv_dump.c).  Pages that read as zero
 * are never stored.  Runs of stored pages are recorded in the image.
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
#include "cr/dump.h"
#include "cr/sysv_ipc.h"

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
	(*s->runs)[(*s->nr_runs)++] = (struct cr_page_run){ addr, nr, off };
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

static int dump_vma_pages(struct dump_ctx *ctx, pid_t pid, int mem_fd, int pm_fd,
			  struct cr_vma *v, uint64_t *pm, uint8_t *buf)
{
	struct page_sink s = { ctx, &v->runs, &v->nr_runs, 0 };
	uint64_t total = (v->end - v->start) / CR_PAGE_SIZE;
	int file_backed = v->kind == CR_VMA_FILE;

	for (uint64_t base = 0; base < total; base += PAGEMAP_BATCH) {
		uint64_t n = total - base < PAGEMAP_BATCH ? total - base : PAGEMAP_BATCH;
		uint64_t addr = v->start + base * CR_PAGE_SIZE;
		ssize_t r = pread(pm_fd, pm, n * 8, (off_t)(addr / CR_PAGE_SIZE * 8));

		if (r != (ssize_t)(n * 8))
			return err_sys("pid %d: read pagemap at 0x%llx", pid,
				       (unsigned long long)addr);
		for (uint64_t i = 0; i < n;) {
			uint64_t j;

			if (!want_page(pm[i], file_backed)) {
				i++;
				continue;
			}
			for (j = i + 1; j < n && want_page(pm[j], file_backed); j++)
				;
			uint64_t a = addr + i * CR_PAGE_SIZE;

			if (copy_range(&s, pid, mem_fd, a, j - i, buf) < 0)
				return err_wrap("pid %d: vma 0x%llx-0x%llx", pid,
						(unsigned long long)v->start,
						(unsigned long long)v->end);
			i = j;
		}
	}
	return 0;
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
		rc = copy_range(&s, 0, fd, (uint64_t)data,
				(uint64_t)(hole - data) / CR_PAGE_SIZE, buf);
	}
	close(fd);
	return rc < 0 ? err_wrap("pid %d: shared memory %s", pid, path) : 0;
}

static int dump_proc_memory(struct dump_ctx *ctx, struct dump_task *t, struct cr_proc *p,
			    uint64_t *pm, uint8_t *buf)
{
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

		if (v->kind == CR_VMA_ANON || v->kind == CR_VMA_FILE)
			rc = dump_vma_pages(ctx, t->host_pid, mem_fd, pm_fd, v, pm, buf);
		else if (v->kind == CR_VMA_SHMEM)
			rc = dump_shmem_object(ctx, t->host_pid, v, buf);
	}
	close(pm_fd);
	close(mem_fd);
	return rc;
}

int dump_memory(struct dump_ctx *ctx)
{
	uint64_t *pm = malloc(PAGEMAP_BATCH * 8);
	uint8_t *buf = aligned_alloc(CR_PAGE_SIZE, BATCH_PAGES * CR_PAGE_SIZE);
	int rc = 0;

	if (!pm || !buf) {
		free(pm);
		free(buf);
		return err_set("out of memory for page buffers");
	}
	rc = sysv_dump(ctx);
	for (size_t i = 0; rc == 0 && i < ctx->nr_tasks; i++)
		if (!ctx->tasks[i].zombie)
			rc = dump_proc_memory(ctx, &ctx->tasks[i], &ctx->img.procs[i], pm, buf);
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

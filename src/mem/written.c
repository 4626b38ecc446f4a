/*
 * written.c - which pages of a process were written since they were put in
 * write-protected (userfaultfd WP in async mode): PAGEMAP_SCAN on
 * /proc/PID/pagemap, category PAGE_IS_WRITTEN.  The ActiveSet record
 * (pageserver.c) counts a written page as used.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/err.h"
#include "mem/written.h"

/* linux/fs.h of Linux 6.7; Debian 12's headers predate it. */
#ifndef PAGEMAP_SCAN
struct page_region {
	uint64_t start, end, categories;
};
struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_WRITTEN (1 << 1)
#define PAGE_IS_PRESENT (1 << 3)
#endif

#define SCAN_VEC 512

static int add_region(struct mem_regions *out, uint64_t start, uint64_t end)
{
	if (out->n && out->v[out->n - 1].end == start) {
		out->v[out->n - 1].end = end;
		return 0;
	}
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 64;
		struct mem_region *v = realloc(out->v, cap * sizeof(*v));

		if (!v)
			return err_set("out of memory");
		out->v = v;
		out->cap = cap;
	}
	out->v[out->n++] = (struct mem_region){ start, end };
	return 0;
}

static int scan_range(int fd, pid_t pid, uint64_t start, uint64_t end, struct mem_regions *out)
{
	struct page_region vec[SCAN_VEC];
	struct pm_scan_arg a;

	while (start < end) {
		long n;

		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		a.start = start;
		a.end = end;
		a.vec = (uint64_t)(uintptr_t)vec;
		a.vec_len = SCAN_VEC;
		a.category_mask = PAGE_IS_WRITTEN | PAGE_IS_PRESENT;
		a.return_mask = PAGE_IS_WRITTEN | PAGE_IS_PRESENT;
		n = ioctl(fd, PAGEMAP_SCAN, &a);
		if (n < 0)
			return err_sys("pid %d: PAGEMAP_SCAN 0x%llx-0x%llx", pid,
				       (unsigned long long)start, (unsigned long long)end);
		for (long i = 0; i < n; i++)
			if (add_region(out, vec[i].start, vec[i].end) < 0)
				return -1;
		if (a.walk_end <= start)
			break;
		start = a.walk_end;
	}
	return 0;
}

int mem_written_pages(pid_t pid, const struct mem_region *ranges, size_t n,
		      struct mem_regions *out)
{
	char path[64];
	int fd, rc = 0;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys("open %s", path);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = scan_range(fd, pid, ranges[i].start, ranges[i].end, out);
	close(fd);
	if (rc < 0)
		mem_regions_free(out);
	return rc;
}

int mem_regions_has(const struct mem_regions *r, uint64_t addr)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->n && r->v[lo].start <= addr;
}

void mem_regions_free(struct mem_regions *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

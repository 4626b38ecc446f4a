/*
 * written.h - pages a process wrote since they were put in write-protected
 * (userfaultfd WP, async mode), found with PAGEMAP_SCAN.
 */
#ifndef PC_MEM_WRITTEN_H
#define PC_MEM_WRITTEN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mem_region {
	uint64_t start, end;
};
struct mem_regions {
	struct mem_region *v;    /* sorted, merged */
	size_t n, cap;
};

/* Present and written pages of pid within ranges (sorted). */
int mem_written_pages(pid_t pid, const struct mem_region *ranges, size_t n,
		      struct mem_regions *out);
int mem_regions_has(const struct mem_regions *r, uint64_t addr);
void mem_regions_free(struct mem_regions *r);

#endif

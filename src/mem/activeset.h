/*
 * activeset.h - the ActiveSet: which pages of a tree's lazy memory it used
 * over its last revivals, stored with its image as DIR/activeset, and the
 * policy that turns that history into the pages a restore installs before
 * the tree resumes.  See docs/memory.md ("ActiveSet").
 *
 * Each page of the set carries a mask: bit 0 says the page was seen during
 * the latest revival, bit 1 during the one before, and so on
 * (MEM_AS_HISTORY bits).  A page is prefetched when it was seen in at least
 * MEM_AS_MIN_SEEN of them.  A few of those pages, the probes, are left out
 * of the prefetch at each revival: their faults tell which prefetched
 * areas are still in use (a prefetched page that is only read is invisible
 * otherwise).
 */
#ifndef PC_MEM_ACTIVESET_H
#define PC_MEM_ACTIVESET_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define MEM_AS_FILE "activeset"
#define MEM_AS_HISTORY 2         /* n: revivals remembered */
#define MEM_AS_MIN_SEEN 1        /* k: seen in at least k of the last n */
#define MEM_AS_BLOCK_PAGES 64    /* liveness is judged per 256 KiB block */
#define MEM_AS_PROBE_EVERY 64    /* about one prefetched page in 64 is a probe */
#define MEM_AS_BLOCK_MIN_PROBE 4 /* a block with this many wanted pages has one */

struct mem_as_run {
	uint64_t addr, nr_pages;
	uint32_t mask;
};

struct mem_as_proc {
	pid_t pid;               /* pid in the tree's namespace */
	size_t n;
	struct mem_as_run *runs; /* sorted by address, not overlapping */
};

struct mem_as {
	uint64_t revival;        /* revivals recorded so far */
	size_t n;
	struct mem_as_proc *procs;
};

/* Parse and validate a DIR/activeset file's bytes. */
int mem_as_parse(const char *text, size_t len, struct mem_as *as);
/* Read dir/activeset: 0 read, 1 there is none, -1 error. */
int mem_as_read(const char *dir, struct mem_as *as);
/* The same, but an unreadable ActiveSet is only a warning (1: none): it
 * orders prefetches and dump layout, never what memory holds, so a
 * restore or a dump goes on without it. */
int mem_as_read_or_skip(const char *dir, struct mem_as *as);
void mem_as_free(struct mem_as *as);
const struct mem_as_proc *mem_as_find(const struct mem_as *as, pid_t pid);

/* Mask of a page with this history: is it prefetched? */
int mem_as_wanted(uint32_t mask);
/* The history after one more revival in which the page was seen or not. */
uint32_t mem_as_next_mask(uint32_t mask, int seen);
/* Is the page at addr a probe in this revival (left out of the prefetch)? */
int mem_as_is_probe(uint64_t addr, uint64_t revival);

/* Writing: a header, then per process its runs, then the checksum.  The
 * writer accumulates the text in memory (mem_as_writer_*) and the result
 * is handed around as bytes (the page server sends it to the dump). */
struct mem_as_writer {
	char *buf;
	size_t len, cap;
	int failed;
};
void mem_as_writer_begin(struct mem_as_writer *w, uint64_t revival);
void mem_as_writer_proc(struct mem_as_writer *w, pid_t pid);
void mem_as_writer_run(struct mem_as_writer *w, uint64_t addr, uint64_t nr_pages, uint32_t mask);
/* Seal with the checksum; -1 if out of memory along the way. */
int mem_as_writer_end(struct mem_as_writer *w);
void mem_as_writer_free(struct mem_as_writer *w);
/* Any other line. */
void mem_as_writer_printf(struct mem_as_writer *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif

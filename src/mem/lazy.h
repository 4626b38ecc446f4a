/*
 * lazy.h - lazy restore of private anonymous memory: the page server.
 *
 * A restore maps every VMA but writes only the small ones; the large private
 * anonymous ones are registered with a userfaultfd that the restorer pulled
 * out of the restored process (pidfd_getfd), and a page server thread of the
 * keeper fills them.  It answers faults first (UFFDIO_COPY of the touched
 * page and a few after it), and in between copies the remaining pages in
 * large batches, so the process runs before its memory is all in.  When a
 * process has no page left to fill its userfaultfd is closed, which takes
 * the registration away: from then on the process is an ordinary one.
 *
 * The server follows what the process does meanwhile (UFFD_FEATURE_EVENT_*):
 * a fork gives the child its own userfaultfd and the pages still due;
 * munmap and MADV_DONTNEED drop pages (they must read as zero after that);
 * mremap moves them.  A page that faults and is not due gets a zero page.
 */
#ifndef PC_MEM_LAZY_H
#define PC_MEM_LAZY_H

#include <sched.h>
#include <stdint.h>
#include <sys/types.h>

#include "cr/image.h"
#include "mem/activeset.h"

struct mem_server;

/* Where pages not in the server's mapping yet come from (a lazy restore
 * from the object store).  fetch makes bytes [off, off+len) of each range
 * of the pages readable in the mapping (it may block and retry; -1: they
 * cannot be had, and the tree is killed); stats appends "name value\n"
 * lines to out (at most outlen bytes, returns the length); release frees
 * the source and the mapping (when the server ends). */
struct mem_range {
	uint64_t off, len;
};
struct mem_source {
	uint64_t generation;     /* the store generation the pages belong to */
	int (*fetch)(void *arg, const struct mem_range *r, size_t n);
	size_t (*stats)(void *arg, char *out, size_t outlen);
	void (*release)(void *arg);
	/* Optional: the bytes [off, off+len) are needed no more (every page
	 * from there is in its process): their memory may go. */
	void (*drop)(void *arg, uint64_t off, uint64_t len);
	void *arg;
};

/* Is v restored lazily (large private anonymous, nothing that forbids it)? */
int mem_vma_is_lazy(const struct cr_vma *v);

/* A server over the image's pages (pages..pages+len, a mapping that
 * mem_server_finish unmaps; mem_server_abort leaves it to the caller).  On
 * a failure it cannot recover from (the process would read wrong memory) it
 * kills tree_pid.  Its thread runs on cpus (NULL: where the caller may). */
struct mem_server *mem_server_new(const uint8_t *pages, uint64_t len, pid_t tree_pid,
				  const cpu_set_t *cpus);

/* Read pages through src (before the first mem_server_add).  The server
 * then owns src: it releases it when it ends, and its pages mapping with
 * it.  fill: copy in every page in the background once the tree runs (else
 * only faults and prefetches bring pages in). */
void mem_server_use_source(struct mem_server *s, const struct mem_source *src, int fill);

/* On a failure that kills the tree, append the reason to path (kept). */
void mem_server_set_log(struct mem_server *s, const char *path);

/* Record the ActiveSet (before the first mem_server_add): pages are put
 * in write-protected (userfaultfd WP, async) so that writes show in
 * PAGEMAP_SCAN, faults are noted, and each process's pages whose history
 * in prev (NULL: none) passes the policy are installed by mem_server_add
 * before the tree resumes, but for the probes.  prev is copied. */
int mem_server_record(struct mem_server *s, const struct mem_as *prev);

/* Answer requests of dumps and of cr_mem_stats() on a socket named after
 * the tree (mem_control_name).  Requests: 'S' counters, 'R' the ActiveSet
 * (then every page is brought in, so that the dump can read it), 'F' bring
 * every page in. */
int mem_server_listen(struct mem_server *s);
/* The abstract socket name (leading NUL) of tree pid's page server. */
void mem_control_name(pid_t tree_pid, char *buf, size_t len, size_t *namelen);
/* Ask tree pid's page server (if it has one) for cmd; its answer into a
 * malloc'd buffer (*out, *outlen).  1 if the tree has no page server, or
 * it gave no answer (it ended meanwhile). */
int mem_control_ask(pid_t tree_pid, char cmd, char **out, size_t *outlen);

/* Dump side: if tree_pid has a page server recording the ActiveSet, take
 * the set (the server then brings every page in) and write it to
 * dir/activeset.  Nothing is done for a tree without one. */
int mem_save_activeset(pid_t tree_pid, const char *dir);

/* Dump side, incremental swap-out: the pages of each process that are as
 * the restore put them (never fetched, or fetched and not written since:
 * userfaultfd WP) and where they are in the pages of the generation the
 * tree was restored from. */
struct mem_keep_run {
	uint64_t addr, nr_pages, off;
};
struct mem_keep_proc {
	pid_t pid;                /* in the tree */
	size_t n;
	struct mem_keep_run *runs; /* sorted by address */
};
struct mem_keep {
	uint64_t base_gen, base_size, kept_pages;
	size_t n;
	struct mem_keep_proc *procs;
};
/* 0: *k filled; 1: none (no page server, or one that cannot tell: it then
 * brings every page in, as after mem_request_fill). */
int mem_keep_take(pid_t tree_pid, struct mem_keep *k);
const struct mem_keep_proc *mem_keep_find(const struct mem_keep *k, pid_t pid);
void mem_keep_free(struct mem_keep *k);
/* Have tree_pid's page server (if any) bring every page in. */
int mem_request_fill(pid_t tree_pid);
/* After an incremental dump of a tree that goes on running: its pages are
 * now generation gen's (size bytes), the base of its next dump. */
int mem_set_base(pid_t tree_pid, uint64_t gen, uint64_t size);

/* Serve uffd (a userfaultfd of process pid, taken over: closed by the
 * server) for the lazy VMAs among vmas.  Starts the server thread on first
 * use.  Errors (UFFDIO_API, UFFDIO_REGISTER) leave nothing registered. */
int mem_server_add(struct mem_server *s, int uffd, pid_t pid,
		   const struct cr_vma *vmas, uint32_t nr_vmas);
/* The same, naming the process's pid in the tree (for the ActiveSet). */
int mem_server_add_proc(struct mem_server *s, int uffd, pid_t pid, pid_t nspid,
			const struct cr_vma *vmas, uint32_t nr_vmas);

/* The tree runs now.  Until this is called only faults are served: the
 * background fill would compete with the rest of the restore. */
void mem_server_start_fill(struct mem_server *s);

/* Wait until every page is in (or its process is gone), then free s. */
void mem_server_finish(struct mem_server *s);
/* Stop at once (the restore failed and the tree is being killed), free s. */
void mem_server_abort(struct mem_server *s);

/* Dump side: wait until no VMA of pid is registered with a userfaultfd
 * (a lazy restore still filling it), at most timeout_ms. */
int mem_wait_resident(pid_t pid, int timeout_ms);

#endif

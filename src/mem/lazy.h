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

struct mem_server;

/* Is v restored lazily (large private anonymous, nothing that forbids it)? */
int mem_vma_is_lazy(const struct cr_vma *v);

/* A server over the image's pages (pages..pages+len, a mapping that
 * mem_server_finish unmaps; mem_server_abort leaves it to the caller).  On
 * a failure it cannot recover from (the process would read wrong memory) it
 * kills tree_pid.  Its thread runs on cpus (NULL: where the caller may). */
struct mem_server *mem_server_new(const uint8_t *pages, uint64_t len, pid_t tree_pid,
				  const cpu_set_t *cpus);

/* Serve uffd (a userfaultfd of process pid, taken over: closed by the
 * server) for the lazy VMAs among vmas.  Starts the server thread on first
 * use.  Errors (UFFDIO_API, UFFDIO_REGISTER) leave nothing registered. */
int mem_server_add(struct mem_server *s, int uffd, pid_t pid,
		   const struct cr_vma *vmas, uint32_t nr_vmas);

/* Until this is called only faults are served: the background fill would
 * compete with the rest of the restore. */
void mem_server_start_fill(struct mem_server *s);

/* Wait until every page is in (or its process is gone), then free s. */
void mem_server_finish(struct mem_server *s);
/* Stop at once (the restore failed and the tree is being killed), free s. */
void mem_server_abort(struct mem_server *s);

/* Dump side: wait until no VMA of pid is registered with a userfaultfd
 * (a lazy restore still filling it), at most timeout_ms. */
int mem_wait_resident(pid_t pid, int timeout_ms);

#endif

/*
 * dump_ctx.h - the dump context: state shared by the parts of a dump, the
 * seized tree and the image being filled, and the steps that take it.  dump.c drives; dump_state.c reads registers,
 * signals and timers; dump_files.c reads fds (files.h); dump_mem.c writes
 * memory pages.
 */
#ifndef PC_CR_DUMP_CTX_H
#define PC_CR_DUMP_CTX_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>
#include <xxhash.h>

#include "cr/image.h"
#include "cr/seccomp.h"

struct dump_task {
	pid_t host_pid;
	int zombie;
	size_t nr_tids;
	pid_t *host_tids;                   /* seized threads, leader first */
	struct user_regs_struct *saved;     /* live registers at seize time */
	uint64_t *saved_mask;               /* live signal masks */
	int *seized;                        /* per thread: attached by us */
};

struct dump_files;                     /* dump_files.c */

struct dump_ctx {
	pid_t init;
	const struct box *box;              /* the tree's box, or NULL */
	int box_root;                       /* its root dir (rootpath.h), or -1 */
	const char *dir;
	size_t nr_tasks;
	struct dump_task *tasks;            /* same order as img.procs */
	struct cr_image img;
	int pages_fd;
	uint64_t pages_off;
	XXH3_state_t *hash;
	struct dump_files *files;           /* fd framework state (files.h) */
	struct netlock *netlock;            /* TCP connections held still */
	uint64_t custody_tag;               /* listener custody: the tag of this
	                                       dump's held sockets, 0: none */
	struct mem_keep *keep;              /* incremental: pages not read, or NULL */
	struct mem_as *as;                  /* the ActiveSet just recorded, or NULL */
	struct cr_seccomp seccomp;          /* the tree's own seccomp filters */
};

/* dump_state.c: everything but memory, for one stopped process. */
int dump_threads(struct dump_task *t, struct cr_proc *p, uint32_t xsave_size);
int dump_injected_state(struct dump_task *t, struct cr_proc *p);
/* Registers as they must be restored: an interrupted syscall restarts. */
void regs_for_restart(struct user_regs_struct *r);

/* dump_files.c: the fds of one process into p->fds and img.files; then,
 * once every process is read, cross references between files; release
 * closes the duplicates of the app's files the dumper holds. */
int dump_proc_files(struct dump_ctx *ctx, struct dump_task *t, struct cr_proc *p);
int dump_files_link(struct dump_ctx *ctx);
void dump_files_release(struct dump_ctx *ctx);

/* dump_mem.c: page contents of every VMA and shared object. */
int dump_memory(struct dump_ctx *ctx);
/* dump_mem.c: before the state is read, what the page server of a lazily
 * restored tree must do: bring every page in, or (incremental) tell which
 * pages are unchanged since the restore (ctx->keep). */
int dump_plan_memory(struct dump_ctx *ctx, int incremental);
void dump_keep_free(struct dump_ctx *ctx);
/* Incremental: write dir/.pages-base ("base GENERATION SIZE"): DIR/pages
 * holds what follows the first SIZE bytes, those of that generation. */
int dump_write_base(struct dump_ctx *ctx);
/* Has the page server no pages left to bring in for process p? */
int dump_mem_kept(const struct dump_ctx *ctx, const struct cr_proc *p);

#endif

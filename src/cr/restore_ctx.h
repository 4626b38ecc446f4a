/*
 * restore_ctx.h - the restore context: the state shared by the parts of a
 * restore, and the steps that take it.
 *
 * restore.c drives: it reads and checks the image, prepares shared memory,
 * forks the tree (restore_tree.c: code that runs in the new processes
 * before they stop), seizes it, rebuilds each address space (restore_mm.c)
 * and the rest of each process (restore_task.c), then lets it go.
 *
 * Service fds: every restored process holds, from svc_base up, the report
 * socket, one memfd per shared memory object, one fd per open file
 * description of the image (img.files, see files.h), then one fd per
 * distinct file its mappings (and exe) need.  They are closed before it
 * resumes.
 */
#ifndef PC_CR_RESTORE_CTX_H
#define PC_CR_RESTORE_CTX_H

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/types.h>

#include "cr/image.h"
#include "cr/inject.h"
#include "cr/seccomp.h"

struct rst_file {
	const char *path;
	int writable;       /* opened O_RDWR (shared writable mapping) */
};

struct rst_proc {
	struct cr_proc *p;
	pid_t host_pid;
	pid_t *host_tids;   /* index as p->threads; 0 until created */
	uint32_t nr_files;
	struct rst_file *files;
	int exe_file;       /* index in files of the executable */
	struct inj inj;
	int seized;
	int32_t parent;     /* index of its parent in img.procs, -1: none */
	int late;           /* forked from its restored parent (restore_fork.c) */
};

/* What each restored process sends on the report socket once it has
 * set itself up (restore_tree.c), read by the restorer (restore.c). */
struct rst_report {
	uint32_t idx;
	int32_t status;
	char msg[512];
};

struct rst_files;                    /* restore_files.c */
struct mem_server;                   /* mem/lazy.h */
struct mem_source;
struct mem_range;
struct mem_as;
struct cr_restore_opts;
struct custody_held;                 /* custody_files.h */
struct rst_ctx;

/* Where an image comes from when it is not (only) a local directory
 * (restore_store.c).  In the keeper, open() makes c->dir hold the
 * manifest; map() (after the manifest is read) sets c->pages and
 * c->pages_len, with the bytes the restore writes before the tree resumes
 * fetched, and c->src for the rest; close() undoes open() once the
 * restore is over.  stats (may be NULL) writes the origin's counters as
 * text ("name value" lines) once the tree runs; the caller finds them in
 * note (the keeper reports them), for a tree left without a page server
 * to ask. */
struct rst_origin {
	int (*open)(struct rst_ctx *c, void *arg);
	int (*map)(struct rst_ctx *c, void *arg);
	void (*close)(struct rst_ctx *c, void *arg);
	void *arg;
	size_t (*stats)(void *arg, char *out, size_t len);
	char *note;                   /* KEEPER_NOTE_MAX bytes, or NULL */
	/* (may be NULL) brings a file open() left out into c->dir: the box's
	 * writable layer, needed only when the box is made from the image */
	int (*fetch)(struct rst_ctx *c, void *arg, const char *file);
};

struct rst_ctx {
	const char *dir;
	struct box *box;         /* the image's box (box/box.h), or NULL */
	int box_root;            /* its root dir, where paths resolve; -1 */
	pthread_t box_warmer;    /* box_warm_cgroups(), joined at the end */
	int box_warming;
	struct cr_image img;
	struct cr_seccomp seccomp;  /* the tree's own filters (DIR/seccomp) */
	const uint8_t *pages;    /* DIR/pages, mapped */
	uint64_t pages_len;
	uint64_t scratch;        /* scratch area address, free in every process */
	int svc_base;
	int svc_end;             /* first fd above every service fd */
	int report_fd;           /* restorer's end of the report socket */
	int *shmem_fds;          /* restorer's memfds, one per img.shmem */
	int ipc_ns_fd;           /* > 0: the tree's new IPC namespace (sysv_ipc.h) */
	struct rst_proc *procs;  /* index as img.procs */
	pid_t init_host;
	uint32_t nr_live;        /* non-zombie processes the tree code forks */
	int nr_cpus;             /* CPUs this restorer may use */
	cpu_set_t cpus;          /* ... which they are */
	int pin_cpu;             /* the one CPU restorer and tree share, or -1 */
	cpu_set_t helpers;       /* CPUs for helper threads: cpus but pin_cpu */
	pthread_t hash_thread;   /* checks the pages' checksum meanwhile */
	int hash_running;
	int pages_ok;
	struct rst_files *files; /* the image's open files (files.h) */
	int lazy;                /* large private memory through the page server */
	struct mem_server *server; /* mem/lazy.h; NULL until a process needs it */
	int verify;              /* trial restore: never resumed, then killed */
	struct mem_source *src;  /* pages not mapped yet come from it, or NULL */
	int src_given;           /* ... the page server owns it now */
	int fill;                /* the page server fills all memory in the background */
	int record;              /* ... records the ActiveSet (mem/activeset.h) */
	const struct mem_as *as; /* the image's ActiveSet, or NULL */
	const char *log;         /* the page server's failures go there, or NULL */
	const struct custody_held *custody; /* listener custody's sockets, or NULL */
};

/* restore.c: restore from an origin (o NULL: the directory dir). */
int rst_restore_from(const char *dir, const struct rst_origin *o,
		     const struct cr_restore_opts *opts, pid_t *pid);

/* Which bytes of the pages a restore writes before the tree resumes:
 * every run of a VMA that is not lazy, and of shared memory. */
int rst_eager_ranges(const struct rst_ctx *c, struct mem_range **out, size_t *n);

static inline int svc_report_fd(const struct rst_ctx *c) { return c->svc_base; }
static inline int svc_shmem_fd(const struct rst_ctx *c, uint32_t i)
{
	return c->svc_base + 1 + (int)i;
}
static inline int svc_cfile_fd(const struct rst_ctx *c, uint32_t i)
{
	return c->svc_base + 1 + (int)c->img.nr_shmem + (int)i;
}
static inline int svc_file_fd(const struct rst_ctx *c, uint32_t i)
{
	return c->svc_base + 1 + (int)c->img.nr_shmem + (int)c->img.nr_files + (int)i;
}

/* Keep a restorer fd out of the service fd range [svc_base, svc_end): an
 * fd there would be overwritten by the service fds (moved above, with
 * close-on-exec). */
int rst_fd_out_of_svc(const struct rst_ctx *c, int *fd);

/* restore_tree.c: run as the ns init (index 0); never returns. */
void rst_tree_main(struct rst_ctx *c, uint32_t idx) __attribute__((noreturn));
/* Index in rp->files of the file a VMA maps; add a mapped file to rp's
 * service files (its index). */
int rst_file_index(const struct rst_proc *rp, const char *path);
int rst_add_file(struct rst_proc *rp, const char *path, int writable);

/* restore_files.c: in the restorer, create every open file and put it at
 * its service fd (before the tree is forked); in restored process idx,
 * install its fds at their numbers (run by the process itself); F_SETOWN
 * once every thread exists; release (on failure, remove what was made). */
int rst_files_open(struct rst_ctx *c);
int rst_files_install(struct rst_ctx *c, uint32_t idx);
int rst_files_owners(struct rst_ctx *c);
/* The first live process holding file id (it installs it). */
uint32_t rst_file_holder(const struct rst_ctx *c, uint32_t id);
/* The status flags F_SETFL sets. */
#define RST_SETFL_MASK (O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME)
void rst_files_free(struct rst_ctx *c, int failed);

/* One step of the restore for process rp. */
typedef int (*rst_step_fn)(struct rst_ctx *c, struct rst_proc *rp);

/* restore_mm.c: rebuild rp's memory; pages_in runs once its pages are
 * written, before its lazy VMAs are registered and its protections set. */
int restore_mm(struct rst_ctx *c, struct rst_proc *rp, rst_step_fn pages_in);
/* restore_uffd.c: a userfaultfd made inside a boxed process (its fd
 * number there in *fd), where userfaultfd(2) is refused. */
int rst_box_userfaultfd(struct rst_ctx *c, struct rst_proc *rp, int64_t *fd);

/* restore_fork.c: prefork sharing.  rst_plan_late (in plan(), the mapped
 * files known) picks the processes their restored parent forks; run by
 * restore_mm once a parent's pages are written (the step restore.c gives
 * it), rst_fork_late_children forks and sets up its late children. */
int rst_plan_late(struct rst_ctx *c);
int rst_fork_late_children(struct rst_ctx *c, struct rst_proc *pp);
/* restore_kept.c: is v a VMA the late process rp keeps from its parent?
 * rst_parent_vma: the VMA of pp exactly where v is and as v is (kind, file
 * and offset), or NULL. */
int rst_vma_kept(const struct rst_ctx *c, const struct rst_proc *rp, const struct cr_vma *v);
const struct cr_vma *rst_parent_vma(const struct cr_proc *pp, const struct cr_vma *v);
/* restore_thp.c: is THP's mode (/sys/kernel/mm/transparent_hugepage/enabled)
 * "always", "madvise" or "never"? */
int rst_thp_mode(const char *mode);

/* restore_task.c */
int restore_group(struct rst_ctx *c, struct rst_proc *rp, int leaders);
int restore_threads(struct rst_ctx *c, struct rst_proc *rp);
int restore_process_state(struct rst_ctx *c, struct rst_proc *rp);
/* Read len bytes (within one page) of a process being restored, after its
 * memory step: from the process, or from the image where the page server
 * fills the memory later (it cannot be read from outside before). */
int rst_read_mem(struct rst_ctx *c, struct rst_proc *rp, uint64_t addr, void *buf, size_t len);
int restore_finish(struct rst_ctx *c, struct rst_proc *rp);

/* restore.c: a trial restore of dir in the calling process (verify.c runs
 * it in a child with its own network namespace): the tree is rebuilt up to
 * the moment it would resume, then killed. */
int rst_trial(const char *dir, const char *box_dir);

#endif

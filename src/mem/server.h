/*
 * server.h - the page server's own data, shared by its files (not an API:
 * mem/lazy.h is).  pageserver.c owns the spaces and the thread; pagecopy.c
 * the copies; record.c the ActiveSet (prefetch before resume, the record, the
 * unchanged pages of an incremental dump); ctlserver.c the control socket.
 */
#ifndef PC_MEM_SERVER_H
#define PC_MEM_SERVER_H

#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mem/activeset.h"
#include "mem/lazy.h"
#include "mem/written.h"

#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)   /* Linux 6.7 */
#endif

#define PAGE 4096ull
#define LAZY_MIN_PAGES 256      /* 1 MiB stored: below, eager is cheaper */
#define FILL_BATCH 256          /* pages per background UFFDIO_COPY */
#define FAULT_BATCH 16          /* pages copied from a faulting address on */
#define FAULT_AHEAD_MAX 256     /* ... up to this many when faults go forward
				   through the file (a source: read-ahead) */
#define FAULT_STREAMS 8         /* forward runs of faults followed at once */
#define MAX_SPACES 1024
#define IDLE_PROBE_MS 1000
#define PENDING_RETRY_MS 1
#define PREFETCH_BATCH 1024     /* pages per UFFDIO_COPY of the ActiveSet */
#define LISTEN_TRIES 25         /* 100 ms apart */

enum page_state { DUE, IN, GONE };

/* lazy_page.flags (ActiveSet record) */
#define PF_TOUCHED 1            /* faulted in since the tree runs */
#define PF_PREFETCHED 2         /* installed before the tree resumed */
#define PF_WANT 4               /* (while prefetching) to install */
#define PF_AHEAD 8              /* put in after a faulting page, not seen */
#define PF_PROBE 16             /* ActiveSet page left out of the prefetch */

struct lazy_page {
	uint64_t addr;
	uint64_t off;            /* in the pages file */
	uint8_t state;
	uint8_t flags;           /* PF_* */
	uint8_t hist;            /* ActiveSet history mask from the image */
};

struct space {
	int uffd;
	pid_t pid;               /* 0 for a forked child (not known) */
	pid_t nspid;             /* pid in the tree, 0 if not known */
	int pidfd;               /* readable once the process ended, or -1 */
	struct mem_region *vr;   /* the lazy VMAs */
	size_t nvr;
	uint64_t *zt;            /* pages not stored that faulted (zero pages) */
	size_t nzt, capzt;
	struct lazy_page *pg;    /* sorted by addr */
	size_t n, due, cursor;
	uint64_t *pending;       /* faulting addresses still to answer (EAGAIN) */
	size_t nr_pending, cap_pending;
	struct fault_stream {    /* read-ahead: the last faults that went forward */
		uint64_t next;   /* file offset after the stretch it copied */
		size_t last;     /* its last fault's page (index in pg) */
		uint32_t ahead;  /* pages its next fault copies (FAULT_BATCH ..) */
		uint32_t used;   /* when it last grew (a count of faults) */
	} streams[FAULT_STREAMS];
	uint32_t nfaults;
};

struct mem_server {
	const uint8_t *pages;
	uint64_t pages_len;
	pid_t tree_pid;
	int fill;                /* background fill (PICOCENTER_LAZY_FILL=0: off) */
	int filling;             /* ... started (mem_server_start_fill) */
	cpu_set_t cpus;          /* where the thread may run */
	int wake_fd;             /* eventfd: a space was added, or quit */
	pthread_mutex_t lock;    /* guards incoming and quit */
	struct space *incoming[MAX_SPACES];
	size_t nr_incoming;
	int quit;                /* 1: stop now */
	int recorded;            /* the ActiveSet was taken: spaces may close */
	int finishing;           /* 1: end when nothing is due */
	pthread_t thread;
	int running;
	struct space *sp[MAX_SPACES];   /* the thread's own */
	size_t nr_sp;
	struct mem_source src;   /* where pages come from, if not all mapped */
	int has_src;
	uint64_t base_size;      /* size of the pages of src.generation */
	int record;              /* ActiveSet record: WP copies, faults noted */
	struct mem_as prev;      /* the image's ActiveSet history */
	int ctl_fd;              /* control socket (mem_server_listen), or -1 */
	char failure[512];       /* why the tree was killed */
	const char *log_path;    /* where that is written, or NULL */
	/* counters (the thread's, but prefetch: guarded by lock) */
	uint64_t faults, faults_run, zero_faults, pages_faulted, pages_filled;
	uint64_t pages_prefetched, prefetched_touched, probes;
	uint64_t run_ns;         /* when the tree resumed */
	uint64_t copied, swept;  /* pages put in; ... when the source was last swept */
};

enum copy_result { COPY_OK, COPY_RETRY, COPY_DEAD, COPY_FATAL };

/* pagecopy.c */
/* First page of sp at or above addr. */
size_t ps_find_page(const struct space *sp, uint64_t addr);
/* Set page i of sp to state (DUE, IN or GONE), keeping sp->due. */
void ps_set_state(struct space *sp, size_t i, uint8_t state);
/* Wake the threads of sp waiting on the page at addr. */
void ps_wake_page(struct space *sp, uint64_t addr);
/* Copy the due pages from sp->pg[i] on that follow each other in memory
 * and in the pages (and carry all of flags), at most max of them. */
/* Pages from pg[i] on that ps_copy_stretch would copy together. */
size_t ps_stretch_len(const struct space *sp, size_t i, size_t max, uint8_t flags);
enum copy_result ps_copy_stretch(struct mem_server *s, struct space *sp, size_t i,
				 size_t max, uint8_t flags);

/* record.c */
/* Install sp's part of the ActiveSet (s->prev) before its process runs. */
int ps_prefetch_space(struct mem_server *s, struct space *sp);
/* The new ActiveSet file of every known process into w. */
int ps_record_all(struct mem_server *s, struct mem_as_writer *w);
/* The unchanged pages of every process into w (incremental dump): 0, or
 * 1 when it cannot tell (a process not known), or -1. */
int ps_keep_all(struct mem_server *s, struct mem_as_writer *w);

/* ctlserver.c */
/* Answer the requests waiting on the control socket. */
void ps_serve_control(struct mem_server *s);

#endif

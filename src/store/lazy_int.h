/*
 * lazy_int.h - what the files of a lazily read file share (not an API):
 * struct store_lazy, kept by lazyfile.c (opening, fetching on demand) and
 * duefirst.c (the pages due first, fetched in the background).
 */
#ifndef PC_STORE_LAZY_INT_H
#define PC_STORE_LAZY_INT_H

#include <limits.h>
#include <pthread.h>

#include "store/internal.h"

#define RUNS_THREADS 16          /* threads fetching the pages due first (S3 parallel) */

struct store_lazy {
	struct store *s;
	struct manifest m;
	const struct mfile *f;
	struct pindex ix;        /* paged file: its page index (once ix_ready) */
	/* The map of the pages due first (pdue.c), when the generation has
	 * one: the runs are decoded with it, and the index is read only when
	 * a page outside them is fetched (from the local copy, at ix_at, or
	 * the store). */
	struct pindex due;
	int has_due, ix_ready;
	size_t ix_at;
	size_t nunits;           /* chunks, or pages of a paged file */
	uint64_t *offs;          /* offs[i]: offset of unit i; offs[n] = size */
	uint8_t *in;             /* per unit: 1 in, 0 not yet */
	uint8_t *data;
	uint64_t size;
	pthread_mutex_t lock;    /* everything above but data's fetched bytes */
	struct store_lazy_stats st;
	/* The pages due first, requested in the background when the small
	 * files came from the local copy, a few runs a thread so that a run
	 * is decoded as soon as it is in; taken in at the first use of l. */
	size_t runs_pending;     /* threads started */
	pthread_t runs_threads[RUNS_THREADS];
	struct runs_part {
		struct store_lazy *l;
		size_t first, n;         /* runs first .. first + n */
	} runs_parts[RUNS_THREADS];
	struct runs_plan plan;   /* made by the first thread past the index */
	int plan_state;          /* 0 not yet, 1 made, -1 failed (under ix_lock) */
	struct backend_get *run_reqs;
	char (*run_keys)[CHUNK_KEY_MAX];
	/* Per run: its bytes, read straight into a buffer of its length, and
	 * how far its pages are decoded: a run is decoded as its bytes come,
	 * once the index is known good. */
	struct run_stream {
		struct store_lazy *l;
		size_t r, next;
		uint64_t pages;
	} *streams;
	uint64_t runs_hits0;     /* the cache's hit bytes when they started */
	uint64_t runs_bytes, runs_pages;   /* what the threads read and put in */
	uint64_t runs_t[3];      /* now_ns(): started, last GETs done, last decoded */
	/* The thread decodes once the page index is known good (the local
	 * copy's files are checked while the GETs are out). */
	pthread_mutex_t ix_lock;
	pthread_cond_t ix_cond;
	int ix_state;            /* 0 not yet, 1 good, -1 not usable */
	uint8_t *copy;           /* the local copy, mapped (ix lies in it) */
	size_t copy_len;
	/* The file left out (store_lazy_opts.defer): its name, and where it
	 * lies in the local copy when that was used (SIZE_MAX: it was not). */
	char defer[NAME_MAX + 1];
	size_t defer_at;
};

/* ---- duefirst.c: the pages due first ---- */
/* What the runs are decoded with: the map of their pages, or the index. */
const struct pindex *lazy_runs_ix(const struct store_lazy *l);
/* The runs of paged file f as ranged requests reqs[0..), keys in keys[0..). */
void lazy_add_runs(const struct mfile *f, struct backend_get *reqs,
		   char (*keys)[CHUNK_KEY_MAX]);
/* bytes read (cached of them from the cache at most) and pages put in,
 * counted in l's counters. */
void lazy_count_runs(struct store_lazy *l, uint64_t bytes, uint64_t pages, uint64_t cached);
/* Request the runs on threads of their own (the local copy's way); the
 * index (or map) is announced good or not by lazy_index_known, and
 * lazy_join_runs takes them in (l->lock held, or l not shared yet). */
int lazy_start_runs(struct store_lazy *l);
void lazy_index_known(struct store_lazy *l, int ok);
void lazy_join_runs(struct store_lazy *l);

#endif

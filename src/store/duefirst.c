/*
 * duefirst.c - the pages due first of a lazily read paged file (the runs
 * its manifest names: what a restore writes before the tree resumes),
 * fetched in the background when the small files come from the local
 * copy: a thread per run or a few (RUNS_THREADS at most), each run read
 * straight into a buffer of its length and its pages decoded and checked
 * as its bytes come, once the index (or the map of those pages, pdue.c)
 * is known good; taken in by the first use of the file (lazy_join_runs).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/timing.h"
#include "store/lazy_int.h"

/* What the runs of pages due first are decoded with: the map of those
 * pages, or the whole index. */
const struct pindex *lazy_runs_ix(const struct store_lazy *l)
{
	return l->has_due ? &l->due : &l->ix;
}

/* The runs of paged file f (the pages due first) as requests reqs[0..),
 * keys in keys[0..). */
void lazy_add_runs(const struct mfile *f, struct backend_get *reqs,
		   char (*keys)[CHUNK_KEY_MAX])
{
	for (size_t j = 0; j < f->nruns; j++) {
		pack_key(f->packs[f->runs[j].pack].hash, keys[j]);
		reqs[j] = (struct backend_get){ .key = keys[j], .off = f->runs[j].off,
						.len = f->runs[j].len };
	}
}


/* ... and counted (the cache's share of those bytes is at most what it
 * served meanwhile). */
void lazy_count_runs(struct store_lazy *l, uint64_t bytes, uint64_t pages, uint64_t cached)
{
	cached = cached < bytes ? cached : bytes;
	l->st.bytes_cache += cached;
	l->st.bytes_store += bytes - cached;
	l->st.chunks_in += pages;
	l->st.plain_in += pages * STORE_PAGE;
	l->st.requests++;
}


/* The page index is good (ok) or not: the runs' thread may decode. */
void lazy_index_known(struct store_lazy *l, int ok)
{
	pthread_mutex_lock(&l->ix_lock);
	l->ix_state = ok ? 1 : -1;
	pthread_cond_broadcast(&l->ix_cond);
	pthread_mutex_unlock(&l->ix_lock);
}



/* Wait until the index is known; the first thread past a good one
 * makes the plan of the runs' pages.  1: decode, 0: not (the index or
 * the plan is no good). */
static int plan_ready(struct store_lazy *l)
{
	int ok;

	pthread_mutex_lock(&l->ix_lock);
	while (l->ix_state == 0)
		pthread_cond_wait(&l->ix_cond, &l->ix_lock);
	if (l->ix_state > 0 && l->plan_state == 0)
		l->plan_state = pages_plan_runs(l->f, lazy_runs_ix(l), l->data, l->in, &l->plan) == 0 ?
				1 : -1;
	ok = l->ix_state > 0 && l->plan_state > 0;
	pthread_mutex_unlock(&l->ix_lock);
	err_clear();   /* only a shortcut: the pages are fetched when asked for */
	return ok;
}

/* The plan if the index is known good by now (made here if it is not
 * yet), without waiting: 1, else 0. */
static int plan_now(struct store_lazy *l)
{
	int ok;

	pthread_mutex_lock(&l->ix_lock);
	if (l->ix_state > 0 && l->plan_state == 0)
		l->plan_state = pages_plan_runs(l->f, lazy_runs_ix(l), l->data, l->in, &l->plan) == 0 ?
				1 : -1;
	ok = l->ix_state > 0 && l->plan_state > 0;
	pthread_mutex_unlock(&l->ix_lock);
	err_clear();
	return ok;
}

/* Bytes of a run came (backend_get.progress): decode the pages in. */
static void run_progress(void *arg, uint64_t got)
{
	struct run_stream *st = arg;
	struct store_lazy *l = st->l;

	if (plan_now(l))
		st->pages += pages_decode_run_upto(&l->plan, st->r,
						   l->run_reqs[st->r].dst, got, &st->next);
}

/* A thread: its runs' ranged GETs, their pages decoded into l->data as
 * the bytes come, and what is left once they are in (different runs hold
 * different pages; nobody else touches l's pages until join_runs). */
static void *runs_main(void *arg)
{
	struct runs_part *part = arg;
	struct store_lazy *l = part->l;
	struct backend_get *reqs = l->run_reqs + part->first;
	uint64_t bytes = 0, pages = 0, t1, t2;
	int ok;

	l->s->be.ops->get_many(l->s->be.be, reqs, part->n);
	t1 = now_ns();
	err_clear();   /* per request status: a failed run is fetched when asked for */
	ok = plan_ready(l);
	for (size_t j = 0; j < part->n; j++) {
		struct run_stream *st = &l->streams[part->first + j];

		if (ok && reqs[j].status == 0) {
			st->pages += pages_decode_run_upto(&l->plan, st->r, reqs[j].dst,
							   reqs[j].len, &st->next);
			bytes += reqs[j].len;
		}
		pages += st->pages;   /* a run that failed may have some in */
	}
	t2 = now_ns();
	pthread_mutex_lock(&l->ix_lock);
	l->runs_bytes += bytes;
	l->runs_pages += pages;
	l->runs_t[1] = t1 > l->runs_t[1] ? t1 : l->runs_t[1];
	l->runs_t[2] = t2 > l->runs_t[2] ? t2 : l->runs_t[2];
	pthread_mutex_unlock(&l->ix_lock);
	return NULL;
}

/* Request the runs of l's paged file (its manifest's `r` lines) on
 * threads of their own: the restore goes on meanwhile. */
int lazy_start_runs(struct store_lazy *l)
{
	struct store_cache_stats c0;
	size_t nt, per;

	if (!l->f->paged || l->f->nruns == 0)
		return 0;
	l->run_reqs = calloc(l->f->nruns, sizeof(*l->run_reqs));
	l->run_keys = calloc(l->f->nruns, sizeof(*l->run_keys));
	l->streams = calloc(l->f->nruns, sizeof(*l->streams));
	if (!l->run_reqs || !l->run_keys || !l->streams)
		return err_set("out of memory");
	lazy_add_runs(l->f, l->run_reqs, l->run_keys);
	for (size_t j = 0; j < l->f->nruns; j++) {
		l->streams[j] = (struct run_stream){ .l = l, .r = j };
		l->run_reqs[j].progress = run_progress;
		l->run_reqs[j].progress_arg = &l->streams[j];
		if (!(l->run_reqs[j].dst = malloc(l->f->runs[j].len ? (size_t)l->f->runs[j].len : 1)))
			return err_set("out of memory");
	}
	store_cache_stats(l->s, &c0);
	l->runs_hits0 = c0.hit_bytes;
	l->runs_t[0] = now_ns();
	per = (l->f->nruns + RUNS_THREADS - 1) / RUNS_THREADS;
	nt = (l->f->nruns + per - 1) / per;
	for (size_t k = 0; k < nt; k++) {
		struct runs_part *part = &l->runs_parts[k];
		int e;

		*part = (struct runs_part){ l, k * per, k + 1 < nt ? per : l->f->nruns - k * per };
		e = pthread_create(&l->runs_threads[k], NULL, runs_main, part);
		if (e != 0) {
			errno = e;
			return err_sys("start a thread fetching the pages due first");
		}
		l->runs_pending++;
	}
	return 0;
}

static void free_runs(struct store_lazy *l)
{
	for (size_t j = 0; l->run_reqs && j < l->f->nruns; j++)
		free(l->run_reqs[j].dst);
	free(l->run_reqs);
	free(l->run_keys);
	free(l->streams);
	l->run_reqs = NULL;
	l->run_keys = NULL;
	l->streams = NULL;
}

/* The background runs, once done: their pages in (l->lock held, or l not
 * shared yet). */
void lazy_join_runs(struct store_lazy *l)
{
	struct store_cache_stats c1;

	if (!l->runs_pending) {   /* never started (or taken in already) */
		free_runs(l);
		return;
	}
	for (size_t k = 0; k < l->runs_pending; k++)
		pthread_join(l->runs_threads[k], NULL);
	l->runs_pending = 0;
	pages_plan_free(&l->plan);
	timing_mark("restore: pages due first (background)");
	timing_span("restore: pages due first: their GETs (the last)", l->runs_t[0],
		    l->runs_t[1]);
	timing_span("restore: pages due first: the last GETs to all decoded", l->runs_t[1],
		    l->runs_t[2]);
	store_cache_stats(l->s, &c1);
	lazy_count_runs(l, l->runs_bytes, l->runs_pages, c1.hit_bytes - l->runs_hits0);
	free_runs(l);
}

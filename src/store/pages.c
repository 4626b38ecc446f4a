/*
 * pages.c - reading a paged file: its page index (fetched as chunks,
 * parsed and validated by pindex.c) and its pages, read from their packs
 * by range.  Pages wanted together are sorted by where they lie; pages
 * that lie next to each other in one pack (or nearly: a small gap is read
 * along) are read in one ranged request, and all requests of a call go in
 * one get_many (parallel where the backend can).  Every page is decoded
 * and checked against its SHA-256 from the index: a page that fails is an
 * error (after one re-read from the store if the bad copy was the local
 * cache's), never data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/err.h"
#include "store/internal.h"

#define MERGE_GAP (8u << 10)     /* bytes read along rather than a new request */
#define RUN_MAX (2u << 20)       /* bytes per ranged request */

/* ---- the index ---- */

struct idx_fetch {
	struct store *s;
	const struct mfile *f;
	struct backend_get *reqs;
	char (*keys)[CHUNK_KEY_MAX];
	uint8_t *plain;
	uint64_t *offs;
};

static int decode_idx_chunk(void *arg, size_t i)
{
	struct idx_fetch *x = arg;
	const struct mchunk *c = &x->f->chunks[i];
	struct backend_get *r = &x->reqs[i];
	char hex[HASH_HEX];

	hash_hex(c->hash, hex);
	if (r->status != 0)
		return err_set("index chunk %s %s", hex, r->status == 1 ? "missing" : "fetch failed");
	return chunk_decode_fetched(x->s, r, c, x->plain + x->offs[i]);
}

int pages_load_index(struct store *s, const struct mfile *f, struct pindex *ix)
{
	struct idx_fetch x = { .s = s, .f = f };
	uint64_t bytes = mfile_chunk_bytes(f), off = 0;
	size_t n = f->nchunks;
	int rc = 0;

	memset(ix, 0, sizeof(*ix));
	x.reqs = calloc(n + 1, sizeof(*x.reqs));
	x.keys = calloc(n + 1, sizeof(*x.keys));
	x.offs = calloc(n + 1, sizeof(*x.offs));
	x.plain = malloc(bytes ? bytes : 1);
	if (!x.reqs || !x.keys || !x.offs || !x.plain)
		rc = err_set("out of memory");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		chunk_key(f->chunks[i].hash, x.keys[i]);
		x.reqs[i].key = x.keys[i];
		x.offs[i] = off;
		off += f->chunks[i].len;
	}
	if (rc == 0 && n) {
		s->be.ops->get_many(s->be.be, x.reqs, n);
		err_clear();   /* per request status: decode_idx_chunk says */
		rc = pool_run(n, s->threads, decode_idx_chunk, &x);
	}
	if (rc == 0 && (rc = pindex_adopt(x.plain, (size_t)bytes, f, x.plain, ix)) == 0)
		x.plain = NULL;   /* ix's now */
	for (size_t i = 0; x.reqs && i < n; i++)
		buf_free(&x.reqs[i].out);
	free(x.reqs);
	free(x.keys);
	free(x.offs);
	free(x.plain);
	return rc < 0 ? err_wrap("file %s: read its page index", f->name) : 0;
}

/* ---- the pages ---- */

struct run {                     /* one ranged read of a pack */
	uint32_t pack;
	uint64_t off, len;
	char key[PACK_KEY_MAX];
};

struct pfetch {
	struct store *s;
	const struct mfile *f;
	const struct pindex *ix;
	size_t *order;           /* the wanted pages, by (pack, offset) */
	size_t *run_of;          /* order[k] is read by run run_of[k] */
	size_t n;
	struct run *runs;
	struct backend_get *reqs;
	size_t nruns;
	uint8_t *dst;
	size_t first;
	uint8_t *bad;            /* per order[k]: failed its check */
};

struct loc {                     /* a wanted page and where it lies */
	uint32_t pack, off;
	size_t i;
};

static int loc_cmp(const void *a, const void *b)
{
	const struct loc *x = a, *y = b;

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* The wanted pages idx[0..n), sorted by where they lie. */
static int sort_by_location(struct pfetch *p, const size_t *idx)
{
	struct loc *v = malloc((p->n ? p->n : 1) * sizeof(*v));

	if (!v)
		return err_set("out of memory");
	for (size_t k = 0; k < p->n; k++)
		v[k] = (struct loc){ p->ix->e[idx[k]].pack, p->ix->e[idx[k]].off, idx[k] };
	qsort(v, p->n, sizeof(*v), loc_cmp);
	for (size_t k = 0; k < p->n; k++)
		p->order[k] = v[k].i;
	free(v);
	return 0;
}

static int plan_runs(struct pfetch *p)
{
	p->runs = calloc(p->n + 1, sizeof(*p->runs));
	p->run_of = calloc(p->n + 1, sizeof(*p->run_of));
	if (!p->runs || !p->run_of)
		return err_set("out of memory");
	for (size_t k = 0; k < p->n; k++) {
		const struct pentry *e = &p->ix->e[p->order[k]];
		struct run *r = p->nruns ? &p->runs[p->nruns - 1] : NULL;
		uint64_t end = (uint64_t)e->off + e->len;

		if (r && r->pack == e->pack && e->off <= r->off + r->len + MERGE_GAP &&
		    end - r->off <= RUN_MAX) {
			if (end > r->off + r->len)
				r->len = end - r->off;
		} else {
			r = &p->runs[p->nruns++];
			r->pack = e->pack;
			r->off = e->off;
			r->len = e->len;
			pack_key(p->f->packs[e->pack].hash, r->key);
		}
		p->run_of[k] = p->nruns - 1;
	}
	return 0;
}

static int decode_page(struct pfetch *p, size_t k)
{
	size_t i = p->order[k];
	const struct pentry *e = &p->ix->e[i];
	const struct backend_get *r = &p->reqs[p->run_of[k]];

	return chunk_decode(r->out.data + (e->off - r->off), e->len, e->hash,
			    p->dst + (i - p->first) * STORE_PAGE, STORE_PAGE);
}

static int decode_one(void *arg, size_t k)
{
	struct pfetch *p = arg;

	if (p->reqs[p->run_of[k]].status != 0)
		return 0;
	if (decode_page(p, k) < 0) {
		p->bad[k] = 1;
		err_clear();
	}
	return 0;
}

/* A page failed its check: the bad copy may be the cache's.  Drop the
 * cached pack, read the run again from the store and check again. */
static int recheck(struct pfetch *p, size_t k)
{
	size_t i = p->order[k];
	struct backend_get *r = &p->reqs[p->run_of[k]];
	char hex[HASH_HEX], msg[600];

	hash_hex(p->ix->e[i].hash, hex);
	if (decode_page(p, k) == 0)
		return 0;          /* its run was read again for another page */
	snprintf(msg, sizeof(msg), "page %zu of file %s (%s, in %s) corrupt: %s", i,
		 p->f->name, hex, r->key, err_msg());
	if (backend_forget(&p->s->be, r->key) != 0)
		return err_set("%s", msg);
	buf_free(&r->out);
	r->status = 0;
	if (p->s->be.ops->get_many(p->s->be.be, r, 1) < 0 || r->status != 0)
		return err_set("%s (and the store's copy cannot be read)", msg);
	if (decode_page(p, k) < 0)
		return err_set("%s (the store's copy too)", msg);
	return 0;
}

static int read_runs(struct pfetch *p, uint8_t *done, struct pages_read *rd)
{
	int again = 0;

	p->reqs = calloc(p->nruns + 1, sizeof(*p->reqs));
	p->bad = calloc(p->n + 1, 1);
	if (!p->reqs || !p->bad)
		return err_set("out of memory");
	for (size_t j = 0; j < p->nruns; j++)
		p->reqs[j] = (struct backend_get){ .key = p->runs[j].key,
						   .off = p->runs[j].off,
						   .len = p->runs[j].len };
	p->s->be.ops->get_many(p->s->be.be, p->reqs, p->nruns);
	err_clear();   /* per request status below */
	rd->requests += p->nruns;
	for (size_t j = 0; j < p->nruns; j++) {
		if (p->reqs[j].status == 1)
			return err_set("pack %s missing from the store", p->reqs[j].key);
		if (p->reqs[j].status == 0)
			rd->bytes_store += p->reqs[j].out.len;
		again |= p->reqs[j].status < 0;
	}
	if (pool_run(p->n, p->s->threads, decode_one, p) < 0)
		return -1;
	for (size_t k = 0; k < p->n; k++)
		if (p->bad[k] && recheck(p, k) < 0)
			return -1;
	for (size_t k = 0; k < p->n; k++)
		if (p->reqs[p->run_of[k]].status == 0)
			done[p->order[k]] = 1;
	return again;
}

int pages_fetch(struct store *s, const struct mfile *f, const struct pindex *ix,
		const size_t *idx, size_t n, uint8_t *dst, size_t first,
		uint8_t *done, struct pages_read *rd)
{
	struct pfetch p = { .s = s, .f = f, .ix = ix, .n = n, .dst = dst, .first = first };
	int rc = 0;

	p.order = malloc((n ? n : 1) * sizeof(*p.order));
	if (!p.order)
		return err_set("out of memory");
	rc = sort_by_location(&p, idx);
	if (rc == 0)
		rc = plan_runs(&p);
	if (rc == 0)
		rc = read_runs(&p, done, rd);
	for (size_t j = 0; p.reqs && j < p.nruns; j++)
		buf_free(&p.reqs[j].out);
	free(p.reqs);
	free(p.bad);
	free(p.runs);
	free(p.run_of);
	free(p.order);
	return rc;
}

/* ---- the runs a manifest names (pages due first) ---- */

static int run_cmp(const void *a, const void *b)
{
	const struct mrun *x = a, *y = b;

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

void runs_merge(struct mrun *v, size_t *n)
{
	size_t k = 0;

	qsort(v, *n, sizeof(*v), run_cmp);
	for (size_t i = 0; i < *n; i++) {
		struct mrun *r = k ? &v[k - 1] : NULL;
		uint64_t end = v[i].off + v[i].len;

		if (r && r->pack == v[i].pack && v[i].off <= r->off + r->len + MERGE_GAP &&
		    end - r->off <= RUN_MAX) {
			if (end > r->off + r->len)
				r->len = end - r->off;
		} else {
			v[k++] = v[i];
		}
	}
	*n = k;
}

/* The run of f holding e, or NULL (runs sorted, as runs_merge leaves them). */
static const struct mrun *run_holding(const struct mfile *f, const struct pentry *e)
{
	size_t lo = 0, hi = f->nruns;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct mrun *r = &f->runs[mid];

		if (r->pack < e->pack || (r->pack == e->pack && r->off + r->len <= e->off))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < f->nruns && f->runs[lo].pack == e->pack && f->runs[lo].off <= e->off &&
	    (uint64_t)e->off + e->len <= f->runs[lo].off + f->runs[lo].len)
		return &f->runs[lo];
	return NULL;
}

int pages_in_run(const struct mfile *f, const struct pentry *e)
{
	return run_holding(f, e) != NULL;
}

uint64_t pages_decode_run_upto(const struct runs_plan *rp, size_t r, const uint8_t *buf,
			       uint64_t got, size_t *next)
{
	const struct mrun *run = &rp->f->runs[r];
	uint64_t done = 0;
	size_t k = rp->first[r] + *next;

	for (; k < rp->first[r + 1]; k++) {
		const struct pentry *e = &rp->ix->e[rp->order[k]];
		size_t i = pindex_page(rp->ix, rp->order[k]);

		if (e->off - run->off + e->len > got)
			break;         /* not all in yet (pages by offset) */
		if (chunk_decode(buf + (e->off - run->off), e->len, e->hash,
				 rp->dst + i * STORE_PAGE, STORE_PAGE) < 0) {
			err_clear();   /* left out: the fetch that needs it reports it */
			continue;
		}
		rp->in[i] = 1;
		done++;
	}
	*next = k - rp->first[r];
	return done;
}

uint64_t pages_decode_run(const struct runs_plan *rp, size_t r, const uint8_t *buf)
{
	size_t next = 0;

	return pages_decode_run_upto(rp, r, buf, rp->f->runs[r].len, &next);
}

/* Pages [first, first + n) of dst are about to be written: take their
 * memory in one call rather than a fault each (a 1 GB image's 2560 pages
 * due first faulted 2560 times; only a shortcut, so errors are ignored:
 * a kernel before 5.14 has no MADV_POPULATE_WRITE). */
static void populate(uint8_t *dst, size_t first, size_t n)
{
#ifdef MADV_POPULATE_WRITE
	if (n)
		madvise(dst + first * STORE_PAGE, n * STORE_PAGE, MADV_POPULATE_WRITE);
#else
	(void)dst;
	(void)first;
	(void)n;
#endif
}

/* Each run's pages in the order they lie in it (a run is decoded as its
 * bytes come). */
static int sort_runs_by_offset(struct runs_plan *rp)
{
	size_t n = rp->first[rp->f->nruns];
	struct loc *v = malloc((n ? n : 1) * sizeof(*v));

	if (!v)
		return err_set("out of memory");
	for (size_t k = 0; k < n; k++)
		v[k] = (struct loc){ 0, rp->ix->e[rp->order[k]].off, rp->order[k] };
	for (size_t r = 0; r < rp->f->nruns; r++)
		qsort(v + rp->first[r], rp->first[r + 1] - rp->first[r], sizeof(*v), loc_cmp);
	for (size_t k = 0; k < n; k++)
		rp->order[k] = v[k].i;
	free(v);
	return 0;
}

/* rp->first and rp->order for the entries not in (a page in a pack no
 * run reads is passed over without a search), and their memory taken
 * (populate) span by span. */
static int group_by_run(struct runs_plan *rp)
{
	size_t nr = rp->f->nruns, n = rp->ix->n, *runof = malloc((n ? n : 1) * sizeof(size_t));
	uint8_t *read = calloc(rp->f->npacks + 1, 1);

	rp->first = calloc(nr + 2, sizeof(size_t));
	rp->order = malloc((n ? n : 1) * sizeof(size_t));
	if (!runof || !read || !rp->first || !rp->order) {
		free(runof);
		free(read);
		return err_set("out of memory");
	}
	for (size_t r = 0; r < nr; r++)
		read[rp->f->runs[r].pack] = 1;
	for (size_t i = 0, span = 0, at = 0; i <= n; i++) {
		const struct pentry *e = i < n ? &rp->ix->e[i] : NULL;
		size_t pg = e ? pindex_page(rp->ix, i) : 0;
		const struct mrun *r = !e || rp->in[pg] || !read[e->pack] ? NULL :
				       run_holding(rp->f, e);

		if (e)
			runof[i] = r ? (size_t)(r - rp->f->runs) : nr;
		if (span && (!e || runof[i] == nr || pg != at + span)) {
			populate(rp->dst, at, span);   /* the pages at .. at + span */
			span = 0;
		}
		if (e && runof[i] < nr) {
			rp->first[runof[i] + 2]++;
			at = span ? at : pg;
			span++;
		}
	}
	for (size_t r = 0; r < nr; r++)
		rp->first[r + 2] += rp->first[r + 1];
	for (size_t i = 0; i < n; i++)
		if (runof[i] < nr)
			rp->order[rp->first[runof[i] + 1]++] = i;
	free(runof);
	free(read);
	return sort_runs_by_offset(rp);
}

int pages_plan_runs(const struct mfile *f, const struct pindex *ix, uint8_t *dst,
		    uint8_t *in, struct runs_plan *rp)
{
	*rp = (struct runs_plan){ .f = f, .ix = ix, .dst = dst, .in = in };
	if (group_by_run(rp) < 0) {
		pages_plan_free(rp);
		return -1;
	}
	return 0;
}

void pages_plan_free(struct runs_plan *rp)
{
	free(rp->first);
	free(rp->order);
	rp->first = rp->order = NULL;
}

struct runs_decode {
	const struct runs_plan *rp;
	uint8_t *const *bufs;
	uint64_t *done;          /* per run: pages in */
};

static int decode_one_run(void *arg, size_t r)
{
	struct runs_decode *d = arg;

	if (d->bufs[r])
		d->done[r] = pages_decode_run(d->rp, r, d->bufs[r]);
	return 0;
}

void pages_from_runs(const struct mfile *f, const struct pindex *ix, uint8_t *const *bufs,
		     uint8_t *dst, uint8_t *in, unsigned threads, uint64_t *pages)
{
	struct runs_plan rp;
	struct runs_decode d = { &rp, bufs, calloc(f->nruns + 1, sizeof(uint64_t)) };

	if (d.done && pages_plan_runs(f, ix, dst, in, &rp) == 0) {
		if (pool_run(f->nruns, threads, decode_one_run, &d) == 0)
			for (size_t r = 0; r < f->nruns; r++)
				*pages += d.done[r];
		pages_plan_free(&rp);
	}
	err_clear();   /* only a shortcut: pages not in are fetched when asked for */
	free(d.done);
}

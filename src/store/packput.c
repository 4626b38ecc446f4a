/*
 * packput.c - storing a paged file (pages.c reads it back): every page is
 * known by its SHA-256.  A page the generation this put builds on already
 * holds (same hash) is referenced where it lies; the pages the store does
 * not have yet are encoded one by one (chunk encoding: zstd or raw) and
 * packed, in file order, into a few pack objects of up to PACK_TARGET
 * bytes, named by the SHA-256 of their bytes and written with if-absent
 * puts.  Incremental: the pages of the parent's file (all of them, not
 * read) come first.  The result is the file's pack table (the parent's
 * packs still referenced, in the parent's order, then the new ones) and
 * its page index.
 *
 * GC: only the parent's packs are reused without a write, which is the
 * chunk rule of docs/store.md; a new pack that happens to exist already
 * is touched (or written again) like a chunk.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/internal.h"

#define PACK_TARGET (32u << 20)

struct known {                    /* a page of the parent, by hash */
	uint8_t hash[HASH_LEN];
	size_t i;                 /* its entry in the parent's index */
};

struct packput {
	struct store *s;
	const uint8_t *data;
	size_t npages;            /* local pages */
	struct pindex prev;       /* the parent's index (empty if none) */
	const struct mfile *pf;   /* the parent's file */
	struct known *known;      /* prev's pages sorted by hash */
	struct pentry *e;         /* local pages' entries */
	int32_t *from_prev;       /* per local page: 1 found in prev */
	size_t *fresh;            /* local pages to store, in file order */
	size_t nfresh;
	struct buf *enc;          /* their encodings */
	struct buf *packs;        /* new pack objects */
	uint8_t (*pack_hash)[HASH_LEN];
	size_t npacks;
	atomic_uint_fast64_t bytes_new, packs_new;
};

static int hash_page(void *arg, size_t i)
{
	struct packput *pp = arg;

	return chunk_hash(pp->data + i * STORE_PAGE, STORE_PAGE, pp->e[i].hash);
}

static int known_cmp(const void *a, const void *b)
{
	return memcmp(a, b, HASH_LEN);
}

static int index_prev(struct packput *pp)
{
	if (!pp->prev.n)
		return 0;
	pp->known = malloc(pp->prev.n * sizeof(*pp->known));
	if (!pp->known)
		return err_set("out of memory");
	for (size_t i = 0; i < pp->prev.n; i++) {
		memcpy(pp->known[i].hash, pp->prev.e[i].hash, HASH_LEN);
		pp->known[i].i = i;
	}
	qsort(pp->known, pp->prev.n, sizeof(*pp->known), known_cmp);
	return 0;
}

/* Sort key for finding pages stored twice in this file. */
struct dup {
	uint8_t hash[HASH_LEN];
	size_t i;
};

static int dup_cmp(const void *a, const void *b)
{
	const struct dup *x = a, *y = b;
	int c = memcmp(x->hash, y->hash, HASH_LEN);

	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* Each local page: found in the parent, or the same as an earlier local
 * page (from_prev = -1 - that page), or fresh. */
static int classify(struct packput *pp)
{
	struct dup *d = malloc((pp->npages ? pp->npages : 1) * sizeof(*d));

	pp->fresh = malloc((pp->npages ? pp->npages : 1) * sizeof(*pp->fresh));
	if (!d || !pp->fresh) {
		free(d);
		return err_set("out of memory");
	}
	for (size_t i = 0; i < pp->npages; i++) {
		const struct known *k = pp->known ?
			bsearch(pp->e[i].hash, pp->known, pp->prev.n, sizeof(*pp->known),
				known_cmp) : NULL;

		pp->from_prev[i] = 0;
		if (k) {
			pp->e[i] = pp->prev.e[k->i];
			pp->from_prev[i] = 1;
		}
		memcpy(d[i].hash, pp->e[i].hash, HASH_LEN);
		d[i].i = i;
	}
	qsort(d, pp->npages, sizeof(*d), dup_cmp);
	for (size_t k = 1; k < pp->npages; k++)
		if (!memcmp(d[k].hash, d[k - 1].hash, HASH_LEN) && !pp->from_prev[d[k].i]) {
			size_t first = d[k - 1].i;

			while (pp->from_prev[first] < 0)
				first = (size_t)(-1 - pp->from_prev[first]);
			pp->from_prev[d[k].i] = (int32_t)(-1 - (int64_t)first);
		}
	free(d);
	for (size_t i = 0; i < pp->npages; i++)
		if (pp->from_prev[i] == 0)
			pp->fresh[pp->nfresh++] = i;
	return 0;
}

static int encode_page(void *arg, size_t j)
{
	struct packput *pp = arg;

	return chunk_encode(pp->data + pp->fresh[j] * STORE_PAGE, STORE_PAGE, &pp->enc[j]);
}

/* Pack the fresh pages' encodings in file order; e[].pack is the new
 * pack's number among the new packs for now. */
static int assemble(struct packput *pp)
{
	pp->packs = calloc(pp->nfresh / 1024 + 2, sizeof(*pp->packs));
	if (!pp->packs)
		return err_set("out of memory");
	for (size_t j = 0; j < pp->nfresh; j++) {
		struct buf *pk = pp->npacks ? &pp->packs[pp->npacks - 1] : NULL;
		struct pentry *e = &pp->e[pp->fresh[j]];

		if (!pk || pk->len + pp->enc[j].len > PACK_TARGET)
			pk = &pp->packs[pp->npacks++];
		e->pack = (uint32_t)(pp->npacks - 1);
		e->off = (uint32_t)pk->len;
		e->len = (uint32_t)pp->enc[j].len;
		if (buf_append(pk, pp->enc[j].data, pp->enc[j].len) < 0)
			return -1;
		buf_free(&pp->enc[j]);
	}
	pp->pack_hash = calloc(pp->npacks + 1, HASH_LEN);
	return pp->pack_hash ? 0 : err_set("out of memory");
}

static int upload_pack(void *arg, size_t j)
{
	struct packput *pp = arg;
	struct backend *b = &pp->s->be;
	char key[PACK_KEY_MAX];
	int rc;

	if (chunk_hash(pp->packs[j].data, pp->packs[j].len, pp->pack_hash[j]) < 0)
		return -1;
	pack_key(pp->pack_hash[j], key);
	rc = b->ops->put(b->be, key, pp->packs[j].data, pp->packs[j].len, 1);
	if (rc == 1) {         /* the same bytes exist: make them young (GC) */
		rc = backend_touch(b, key);
		if (rc == 1 || rc == 2)
			rc = b->ops->put(b->be, key, pp->packs[j].data, pp->packs[j].len, 0);
		return rc < 0 ? err_wrap("refresh pack %s", key) : 0;
	}
	if (rc < 0)
		return err_wrap("write pack %s", key);
	atomic_fetch_add(&pp->bytes_new, pp->packs[j].len);
	atomic_fetch_add(&pp->packs_new, 1);
	return 0;
}

/* The pack table of the new file and every entry renumbered into it. */
static int build_table(struct packput *pp, size_t nbase, struct mfile *mf,
		       struct pindex *out)
{
	size_t np = pp->pf ? pp->pf->npacks : 0, next = 0;
	uint32_t *map = calloc(np + 1, sizeof(*map));
	uint8_t *used = calloc(np + 1, 1);
	int rc = 0;

	out->n = nbase + pp->npages;
	out->e = out->mem = malloc((out->n ? out->n : 1) * sizeof(*out->e));
	if (!map || !used || !out->e)
		rc = err_set("out of memory");
	for (size_t i = 0; rc == 0 && i < nbase; i++)
		used[pp->prev.e[i].pack] = 1;
	for (size_t i = 0; rc == 0 && i < pp->npages; i++)
		if (pp->from_prev[i] == 1)
			used[pp->e[i].pack] = 1;
	for (size_t k = 0; rc == 0 && k < np; k++)
		if (used[k]) {
			map[k] = (uint32_t)next++;
			rc = mfile_add_pack(mf, pp->pf->packs[k].hash, pp->pf->packs[k].size);
		}
	for (size_t j = 0; rc == 0 && j < pp->npacks; j++)
		rc = mfile_add_pack(mf, pp->pack_hash[j], pp->packs[j].len);
	for (size_t i = 0; rc == 0 && i < nbase; i++) {
		out->e[i] = pp->prev.e[i];
		out->e[i].pack = map[out->e[i].pack];
	}
	for (size_t i = 0; rc == 0 && i < pp->npages; i++) {
		struct pentry *e = &out->e[nbase + i];

		*e = pp->from_prev[i] < 0 ? pp->e[-1 - (int64_t)pp->from_prev[i]] : pp->e[i];
		e->pack = pp->from_prev[i] == 1 ? map[e->pack] : (uint32_t)(next + e->pack);
	}
	free(map);
	free(used);
	return rc;
}

static void packput_free(struct packput *pp)
{
	for (size_t j = 0; pp->enc && j < pp->nfresh; j++)
		buf_free(&pp->enc[j]);
	for (size_t j = 0; pp->packs && j < pp->npacks; j++)
		buf_free(&pp->packs[j]);
	free(pp->enc);
	free(pp->packs);
	free(pp->pack_hash);
	free(pp->known);
	free(pp->e);
	free(pp->from_prev);
	free(pp->fresh);
	pindex_free(&pp->prev);
}

static int packput_run(struct packput *pp, const struct pack_put_in *in, struct mfile *mf,
		       struct buf *index, struct buf *due, struct pack_put_stats *st)
{
	int base = in->base;
	struct pindex all = { 0 };
	int rc;

	if (pp->pf && pages_load_index(pp->s, pp->pf, &pp->prev) < 0)
		return -1;
	pp->e = calloc(pp->npages + 1, sizeof(*pp->e));
	pp->from_prev = calloc(pp->npages + 1, sizeof(*pp->from_prev));
	if (!pp->e || !pp->from_prev)
		return err_set("out of memory");
	if (pool_run(pp->npages, pp->s->threads, hash_page, pp) < 0 ||
	    index_prev(pp) < 0 || classify(pp) < 0)
		return -1;
	if (!(pp->enc = calloc(pp->nfresh + 1, sizeof(*pp->enc))))
		return err_set("out of memory");
	if (pool_run(pp->nfresh, pp->s->threads, encode_page, pp) < 0 || assemble(pp) < 0 ||
	    pool_run(pp->npacks, pp->s->threads, upload_pack, pp) < 0)
		return -1;
	mf->paged = 1;
	rc = build_table(pp, base ? pp->prev.n : 0, mf, &all);
	if (rc == 0)
		rc = pindex_format(all.e, all.n, index);
	if (rc == 0 && in->nhint)
		rc = pack_hint(mf, &all, in->hint, in->nhint);
	if (rc == 0 && mf->nruns)
		rc = pdue_build(mf, &all, index, due);
	if (rc == 0 && due->len * PDUE_MIN_GAIN > pindex_size(all.n))
		due->len = 0;   /* not worth its upload at each dump: the index will do */
	pindex_free(&all);
	st->pages = pp->npages;
	st->pages_new = pp->nfresh;
	st->packs_new = atomic_load(&pp->packs_new);
	st->bytes_new = atomic_load(&pp->bytes_new);
	return rc;
}

int pack_put(struct store *s, const struct pack_put_in *in, struct mfile *mf,
	     struct buf *index, struct buf *due, struct pack_put_stats *st)
{
	struct packput pp = { .s = s, .data = in->data, .npages = in->size / STORE_PAGE };
	int rc;

	memset(st, 0, sizeof(*st));
	if (in->size % STORE_PAGE)
		return err_set("file %s: %zu bytes is not a whole number of pages", mf->name,
			       in->size);
	if (in->base && !(in->prev && in->prev->paged))
		return err_set("file %s: the base is not a paged file", mf->name);
	pp.pf = in->prev && in->prev->paged ? in->prev : NULL;
	rc = packput_run(&pp, in, mf, index, due, st);
	packput_free(&pp);
	return rc < 0 ? err_wrap("store file %s by pages", mf->name) : 0;
}

int pack_hint(struct mfile *mf, const struct pindex *ix, const struct store_range *r,
	      size_t n)
{
	struct mrun *v = NULL;
	size_t nv = 0, cap = 0;
	uint64_t bytes = 0;

	for (size_t k = 0; k < n; k++) {
		uint64_t first = r[k].off / STORE_PAGE;
		uint64_t end = (r[k].off + r[k].len + STORE_PAGE - 1) / STORE_PAGE;

		for (uint64_t i = first; i < end && i < ix->n; i++) {
			if (nv == cap) {
				struct mrun *nvv = realloc(v, (cap = cap ? cap * 2 : 256) * sizeof(*v));

				if (!nvv) {
					free(v);
					return err_set("out of memory");
				}
				v = nvv;
			}
			v[nv++] = (struct mrun){ ix->e[i].pack, ix->e[i].off, ix->e[i].len };
		}
	}
	runs_merge(v, &nv);
	for (size_t k = 0; k < nv && k < MAX_HINT_RUNS; k++) {
		if (bytes + v[k].len > MAX_HINT_BYTES)
			break;    /* a hint, not a promise: the rest comes later */
		bytes += v[k].len;
		if (mfile_add_run(mf, v[k].pack, v[k].off, v[k].len) < 0) {
			free(v);
			return -1;
		}
	}
	free(v);
	return 0;
}

/*
 * lazyfile.c - one file of a stored image read on demand, chunk by chunk
 * (store_get_lazy and store_lazy_*, see store.h).  This is what a lazy
 * restore from the store reads its pages through: the file's bytes live in
 * a private anonymous mapping of the file's size, and a chunk takes memory
 * only once it was asked for.  Missing chunks of a request are fetched in
 * one parallel batch, decoded and hash-checked on a few threads; a store
 * that fails is asked again until the caller's timeout, a chunk that is
 * absent or fails its check is an error at once.  A paged file's pages
 * due first come with the small files, or in the background when those
 * come from the local copy (duefirst.c; struct store_lazy: lazy_int.h).
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "common/timing.h"
#include "store/lazy_int.h"

#define LAZY_BATCH_CHUNKS 64     /* chunks per get_many */
#define LAZY_BATCH_PAGES 16384   /* pages per pages_fetch (its runs in one get_many) */
#define RETRY_FIRST_MS 20
#define RETRY_MAX_MS 500
/* The name of the map of file f's pages due first. */
static int due_name(const char *f, char *out, size_t len)
{
	if ((size_t)snprintf(out, len, "%s%s", f, STORE_DUE_SUFFIX) >= len)
		return err_set("file name %s too long", f);
	return 0;
}

/* ---- opening ---- */

static const struct mfile *find_file(const struct manifest *m, const char *name)
{
	for (size_t i = 0; i < m->nfiles; i++)
		if (!strcmp(m->files[i].name, name))
			return &m->files[i];
	return NULL;
}

static int read_generation(struct store *s, const char *name, uint64_t *gen,
			   struct manifest *m)
{
	int rc;

	if (*gen == 0 && image_latest(&s->be, name, gen) < 0)
		return -1;
	if (*gen == 0)
		return err_set("no such image in %s", s->url);
	rc = image_read_manifest(&s->be, name, *gen, m);
	if (rc == 1)
		return err_set("generation %llu not found in %s", (unsigned long long)*gen,
			       s->url);
	return rc;
}

static uint64_t unit_len(const struct store_lazy *l, size_t i)
{
	return l->offs[i + 1] - l->offs[i];
}

static int lazy_layout(struct store_lazy *l)
{
	size_t n = l->f->paged ? (size_t)(l->f->size / STORE_PAGE) : l->f->nchunks;

	l->nunits = n;
	l->offs = calloc(n + 1, sizeof(*l->offs));
	l->in = calloc(n ? n : 1, 1);
	if (!l->offs || !l->in)
		return err_set("out of memory");
	for (size_t i = 0; i < n; i++)
		l->offs[i + 1] = l->offs[i] + (l->f->paged ? STORE_PAGE : l->f->chunks[i].len);
	l->size = l->offs[n];
	if (l->size != l->f->size)
		return err_set("file %s: chunks add up to %llu bytes, not %llu", l->f->name,
			       (unsigned long long)l->size, (unsigned long long)l->f->size);
	if (l->size) {
		void *p = mmap(NULL, l->size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (p == MAP_FAILED)
			return err_sys("map %llu bytes for file %s", (unsigned long long)l->size,
				       l->f->name);
		l->data = p;
	}
	l->st.file_bytes = l->size;
	l->st.chunks = n;
	return 0;
}

void store_lazy_close(struct store_lazy *l)
{
	if (!l)
		return;
	lazy_join_runs(l);
	if (l->data)
		munmap(l->data, l->size);
	free(l->offs);
	free(l->in);
	pindex_free(&l->ix);
	pindex_free(&l->due);
	localcopy_unmap(l->copy, l->copy_len);
	manifest_free(&l->m);
	pthread_mutex_destroy(&l->lock);
	pthread_mutex_destroy(&l->ix_lock);
	pthread_cond_destroy(&l->ix_cond);
	free(l);
}

/* ---- the other files, all in one batch ---- */

#define SMALL_FILES_MAX (16u << 20)   /* more: file by file (get.c) */

static int write_small(const char *dir, const struct mfile *f, const uint8_t *data)
{
	char path[4200], tmp[4300];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, f->name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, f->name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys("create %s", tmp);
	if (write_full(fd, data, (size_t)f->size, 0) < 0)
		rc = err_sys("write %s", tmp);
	if (close(fd) < 0 && rc == 0)
		rc = err_sys("close %s", tmp);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = err_sys("rename %s", tmp);
	if (rc < 0)
		unlink(tmp);
	return rc;
}

struct small_batch {
	struct store *s;
	const struct mchunk **c;
	struct backend_get *reqs;
	uint8_t **dst;
};

static int decode_small(void *arg, size_t i)
{
	struct small_batch *b = arg;
	struct backend_get *r = &b->reqs[i];
	char hex[HASH_HEX];

	hash_hex(b->c[i]->hash, hex);
	if (r->status != 0)
		return err_set("chunk %s %s", hex, r->status == 1 ? "missing" : "fetch failed");
	return chunk_decode_fetched(b->s, r, b->c[i], b->dst[i]);
}

/* What get_small_files brings besides the other files. */
enum small_extra {
	SMALL_ONLY,              /* nothing of skip */
	SMALL_INDEX,             /* skip's page index, if it is paged */
	SMALL_INDEX_RUNS,        /* and the runs of its pages due first */
	SMALL_DUE_RUNS,          /* the runs and their map (pdue.c), not the index */
};

/* File f of m is fetched: every file but skip, and skip's page index if
 * it is paged and asked for (a restore needs it at once too), or the map
 * of its pages due first (due) instead. */
static int fetched(const struct mfile *f, const char *skip, const char *defer,
		   const char *due, enum small_extra x)
{
	if (defer && !strcmp(f->name, defer))
		return 0;
	if (due && !strcmp(f->name, due))
		return x == SMALL_DUE_RUNS;
	if (skip && !strcmp(f->name, skip))
		return f->paged && (x == SMALL_INDEX || x == SMALL_INDEX_RUNS);
	return 1;
}

/* Every file of m but skip into dir, their chunks in one get_many: a
 * restore waits for these (the manifest, the ActiveSet).  If skip is
 * paged, its page index comes in the same batch, into *index, and so do
 * the runs its manifest names (the pages due first), into runs[] (an
 * empty buffer for a run that could not be read); with SMALL_DUE_RUNS,
 * the map of those pages (the file named due) into *duemap instead of
 * the index. */
static int get_small_files(struct store *s, const struct manifest *m, const char *dir,
			   const char *skip, const char *defer, enum small_extra x,
			   uint8_t **index, struct buf **runs, const char *due,
			   uint8_t **duemap)
{
	struct small_batch b = { .s = s };
	char (*keys)[CHUNK_KEY_MAX] = NULL;
	uint8_t **bufs = calloc(m->nfiles + 1, sizeof(*bufs));
	const struct mfile *lf = NULL;
	size_t n = 0, k = 0, nr = 0;
	uint64_t total = 0;
	int rc = 0;

	for (size_t i = 0; skip && i < m->nfiles; i++)
		if (!strcmp(m->files[i].name, skip) && m->files[i].paged &&
		    (x == SMALL_INDEX_RUNS || x == SMALL_DUE_RUNS))
			lf = &m->files[i];
	nr = lf ? lf->nruns : 0;

	for (size_t i = 0; i < m->nfiles; i++)
		if (fetched(&m->files[i], skip, defer, due, x)) {
			n += m->files[i].nchunks;
			total += mfile_chunk_bytes(&m->files[i]);
		}
	if (total > SMALL_FILES_MAX) {
		struct store_get_stats gst = { 0 };

		free(bufs);
		return get_files(s, m, dir, skip, defer, &gst);
	}
	if (mkdir_p(dir) < 0) {
		free(bufs);
		return -1;
	}
	b.c = calloc(n + 1, sizeof(*b.c));
	b.reqs = calloc(n + nr + 1, sizeof(*b.reqs));
	b.dst = calloc(n + 1, sizeof(*b.dst));
	keys = calloc(n + nr + 1, sizeof(*keys));
	*runs = nr ? calloc(nr, sizeof(**runs)) : NULL;   /* nr = lf->nruns */
	if (!bufs || !b.c || !b.reqs || !b.dst || !keys || (nr && !*runs))
		rc = err_set("out of memory");
	if (rc == 0 && nr)
		lazy_add_runs(lf, b.reqs + n, keys + n);
	for (size_t i = 0; rc == 0 && i < m->nfiles; i++) {
		const struct mfile *f = &m->files[i];
		uint64_t off = 0;

		if (!fetched(f, skip, defer, due, x))
			continue;
		if (!(bufs[i] = malloc(mfile_chunk_bytes(f) ? mfile_chunk_bytes(f) : 1))) {
			rc = err_set("out of memory");
			break;
		}
		for (size_t j = 0; j < f->nchunks; j++, k++) {
			b.c[k] = &f->chunks[j];
			b.dst[k] = bufs[i] + off;
			chunk_key(f->chunks[j].hash, keys[k]);
			b.reqs[k].key = keys[k];
			off += f->chunks[j].len;
		}
	}
	if (rc == 0 && n + nr) {
		s->be.ops->get_many(s->be.be, b.reqs, n + nr);
		err_clear();   /* per request status: decode_small says */
		rc = pool_run(n, s->threads, decode_small, &b);
	}
	for (size_t j = 0; rc == 0 && j < nr; j++)
		if (b.reqs[n + j].status == 0 && b.reqs[n + j].out.len == lf->runs[j].len) {
			(*runs)[j] = b.reqs[n + j].out;
			b.reqs[n + j].out = (struct buf){ 0 };
		}
	for (size_t i = 0; rc == 0 && i < m->nfiles; i++)
		if (bufs[i] && skip && !strcmp(m->files[i].name, skip)) {
			*index = bufs[i];
			bufs[i] = NULL;
		} else if (bufs[i] && due && !strcmp(m->files[i].name, due)) {
			*duemap = bufs[i];
			bufs[i] = NULL;
		} else if (bufs[i]) {
			rc = write_small(dir, &m->files[i], bufs[i]);
		}
	for (size_t i = 0; i < n + nr && b.reqs; i++)
		buf_free(&b.reqs[i].out);
	for (size_t i = 0; bufs && i < m->nfiles; i++)
		free(bufs[i]);
	free(bufs);
	free(b.c);
	free(b.reqs);
	free(b.dst);
	free(keys);
	return rc;
}

/* The pages due first, read in runs[] (one buffer per run of the file,
 * empty if that read failed): decoded and in; their bytes and pages. */
static void decode_runs(struct store_lazy *l, struct buf *runs, uint64_t *bytes,
			uint64_t *pages)
{
	uint8_t **bufs = calloc(l->f->nruns + 1, sizeof(*bufs));

	*bytes = *pages = 0;
	if (!bufs)
		return;    /* only a shortcut: the pages are fetched when asked for */
	for (size_t j = 0; j < l->f->nruns; j++) {
		bufs[j] = runs[j].data;
		*bytes += runs[j].len;
	}
	pages_from_runs(l->f, lazy_runs_ix(l), bufs, l->data, l->in, l->s->threads, pages);
	free(bufs);
}

static void take_runs(struct store_lazy *l, struct buf *runs, uint64_t cached)
{
	uint64_t bytes, pages;

	decode_runs(l, runs, &bytes, &pages);
	lazy_count_runs(l, bytes, pages, cached);
}

static struct store_lazy *lazy_new(struct store *s, const char *defer)
{
	struct store_lazy *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	snprintf(l->defer, sizeof(l->defer), "%s", defer ? defer : "");
	l->defer_at = SIZE_MAX;
	pthread_mutex_init(&l->lock, NULL);
	pthread_mutex_init(&l->ix_lock, NULL);
	pthread_cond_init(&l->ix_cond, NULL);
	l->s = s;
	return l;
}

/* The map of the pages due first, len bytes at data: the runs are
 * decoded with it and the index waits (ensure_index).  A map that fails
 * its checks is not used: the index is read as without one. */
static void take_due(struct store_lazy *l, const uint8_t *data, size_t len)
{
	l->has_due = pdue_parse(data, len, l->f, &l->due) == 0;
	err_clear();
}

/* The page index, read now if it was left for later (the map of the
 * pages due first was enough until now): from the local copy if l came
 * from one, else from the store. */
static int ensure_index(struct store_lazy *l)
{
	int rc;

	if (l->ix_ready || !l->f->paged)
		return 0;
	rc = l->copy ? pindex_adopt(l->copy + l->ix_at, (size_t)mfile_chunk_bytes(l->f), l->f,
				    NULL, &l->ix) : -1;
	if (rc < 0) {   /* no copy, or its index is no good: the store's */
		err_clear();
		rc = pages_load_index(l->s, l->f, &l->ix);
	}
	l->ix_ready = rc == 0;
	return rc;
}

/* ---- the small files from the local copy ---- */

/* The files of the local copy's generation but lazy_file into dir, and
 * lazy_file's page index into l->ix (where it lies in the mapped copy,
 * kept until l is closed): 0, 1 when there is no copy of gen, -1 when the
 * copy is not usable (the caller drops l and reads the store).  As soon
 * as the copy's manifest is checked, the pages due first are requested
 * (hinted); the copy's checksum is checked and the index parsed while
 * the requests are out. */
static int from_local(struct store_lazy *l, const char *local_dir, const char *name,
		      uint64_t gen, const char *dir, const char *lazy_file, int hinted)
{
	char due[NAME_MAX + 8];
	size_t at;
	int rc = localcopy_load(local_dir, name, gen, &l->m, &l->copy, &l->copy_len, &at);

	if (rc != 0)
		return rc;
	if (!(l->f = find_file(&l->m, lazy_file)))
		rc = err_set("generation %llu has no file %s", (unsigned long long)gen, lazy_file);
	if (rc == 0)
		rc = lazy_layout(l);
	if (rc == 0 && hinted)
		rc = lazy_start_runs(l);
	if (rc == 0)
		rc = localcopy_check(l->copy, l->copy_len);
	if (rc == 0)
		rc = mkdir_p(dir);
	if (rc == 0)
		rc = due_name(lazy_file, due, sizeof(due));
	for (size_t i = 0; rc == 0 && i < l->m.nfiles; i++) {
		const struct mfile *f = &l->m.files[i];

		if (f == l->f && f->paged)
			l->ix_at = at;
		else if (!strcmp(f->name, due) && l->f->paged && hinted)
			take_due(l, l->copy + at, (size_t)f->size);
		else if (!strcmp(f->name, l->defer))
			l->defer_at = at;
		else if (f != l->f)
			rc = write_small(dir, f, l->copy + at);
		at = localcopy_next(at, f);
	}
	if (rc == 0 && !l->has_due)
		rc = ensure_index(l);   /* else when a page outside the runs is fetched */
	lazy_index_known(l, rc == 0);
	return rc < 0 ? err_wrap("local copy of %s generation %llu", name,
				 (unsigned long long)gen) : 0;
}

/* Open l from the local copy if it holds o's generation: 0; 1 when there
 * is none; 2 when it was rejected (l must be dropped: the reason in
 * l's counters); -1 on an error. */
static int open_local(struct store_lazy *l, const char *name, const char *dir,
		      const char *lazy_file, const struct store_lazy_opts *o)
{
	int rc;

	if (!o->local_dir || !o->generation)
		return 1;
	rc = from_local(l, o->local_dir, name, o->generation, dir, lazy_file, !o->unhinted);
	timing_mark("restore: local copy");
	if (rc < 0) {
		l->st.local_copy = STORE_LOCAL_REJECTED;
		snprintf(l->st.local_why, sizeof(l->st.local_why), "%s", err_msg());
		err_clear();
		return 2;
	}
	if (rc == 0) {
		l->st.local_copy = STORE_LOCAL_USED;
		l->st.bytes_local = l->copy_len;
	}
	return rc;
}

/* Open l from the store: its manifest, then one batch. */
static int open_remote(struct store_lazy *l, const char *name, uint64_t gen,
		       const char *dir, const char *lazy_file, enum small_extra x)
{
	struct store *s = l->s;
	struct buf *runs = NULL;
	struct store_cache_stats c0, c1;
	uint8_t *index = NULL, *duemap = NULL;
	char due[NAME_MAX + 8];
	const struct mfile *df = NULL;
	int rc;

	rc = read_generation(s, name, &gen, &l->m);
	timing_mark("restore: store manifest");
	if (rc == 0 && !(l->f = find_file(&l->m, lazy_file)))
		rc = err_set("generation %llu has no file %s", (unsigned long long)gen,
			     lazy_file);
	if (rc == 0)
		rc = lazy_layout(l);
	if (rc == 0)
		rc = due_name(lazy_file, due, sizeof(due));
	if (rc == 0 && x == SMALL_INDEX_RUNS && l->f->paged && (df = find_file(&l->m, due)))
		x = SMALL_DUE_RUNS;
	store_cache_stats(s, &c0);
	if (rc == 0)
		rc = get_small_files(s, &l->m, dir, lazy_file, l->defer[0] ? l->defer : NULL, x,
				     &index, &runs, due, &duemap);
	store_cache_stats(s, &c1);
	timing_mark("restore: small files, page index, pages due first");
	if (rc == 0 && duemap)
		take_due(l, duemap, (size_t)df->size);
	if (rc == 0 && l->f->paged && index) {
		rc = pindex_adopt(index, (size_t)mfile_chunk_bytes(l->f), l->f, index, &l->ix);
		index = rc == 0 ? NULL : index;   /* l->ix's now */
		l->ix_ready = rc == 0;
	} else if (rc == 0 && l->f->paged && !l->has_due) {
		rc = ensure_index(l);
	}
	if (rc == 0 && l->f->paged && runs)
		take_runs(l, runs, c1.hit_bytes - c0.hit_bytes);
	for (size_t j = 0; runs && j < l->f->nruns; j++)   /* runs: one per run */
		buf_free(&runs[j]);
	free(runs);
	free(index);
	free(duemap);
	return rc;
}

int store_get_lazy_with(struct store *s, const char *name, const char *dir,
			const char *lazy_file, const struct store_lazy_opts *opts,
			struct store_lazy **out)
{
	static const struct store_lazy_opts none = { 0 };
	const struct store_lazy_opts *o = opts ? opts : &none;
	struct store_lazy *l = lazy_new(s, o->defer);
	int rc;

	if (!l)
		return err_set("out of memory");
	if (o->defer && (strlen(o->defer) > NAME_MAX || !strcmp(o->defer, lazy_file))) {
		store_lazy_close(l);
		return err_set("cannot defer file '%s'", o->defer);
	}
	rc = open_local(l, name, dir, lazy_file, o);
	if (rc == 2) {   /* rejected: from the store, with a fresh l */
		struct store_lazy *fresh = lazy_new(s, o->defer);

		if (fresh) {
			fresh->st.local_copy = l->st.local_copy;
			memcpy(fresh->st.local_why, l->st.local_why, sizeof(l->st.local_why));
		}
		store_lazy_close(l);
		if (!(l = fresh))
			return err_set("out of memory");
		rc = 1;
	}
	if (rc == 1)
		rc = open_remote(l, name, o->generation, dir, lazy_file,
				 o->unhinted ? SMALL_INDEX : SMALL_INDEX_RUNS);
	if (rc < 0) {
		store_lazy_close(l);
		return err_wrap("get image %s lazily", name);
	}
	l->st.generation = l->m.generation;
	*out = l;
	return 0;
}

int store_get_lazy(struct store *s, const char *name, uint64_t gen, const char *dir,
		   const char *lazy_file, struct store_lazy **out)
{
	struct store_lazy_opts o = { .generation = gen };

	return store_get_lazy_with(s, name, dir, lazy_file, &o, out);
}

int store_get_lazy_unhinted(struct store *s, const char *name, uint64_t gen,
			    const char *dir, const char *lazy_file, struct store_lazy **out)
{
	struct store_lazy_opts o = { .generation = gen, .unhinted = 1 };

	return store_get_lazy_with(s, name, dir, lazy_file, &o, out);
}

int store_get_small_files(struct store *s, const char *name, uint64_t gen, const char *dir,
			  const char *skip)
{
	struct manifest m = { 0 };
	uint8_t *index = NULL;
	struct buf *runs = NULL;
	int rc = read_generation(s, name, &gen, &m);

	if (rc == 0)
		rc = get_small_files(s, &m, dir, skip, NULL, SMALL_ONLY, &index, &runs, NULL,
				     NULL);
	free(index);
	free(runs);
	manifest_free(&m);
	return rc < 0 ? err_wrap("get the files of image %s but %s", name, skip) : 0;
}

int store_lazy_get_deferred(struct store_lazy *l, const char *dir)
{
	const struct mfile *f = l->defer[0] ? find_file(&l->m, l->defer) : NULL;
	int rc;

	if (!f)
		return 0;
	if (l->defer_at != SIZE_MAX)
		rc = mkdir_p(dir) < 0 ? -1 : write_small(dir, f, l->copy + l->defer_at);
	else
		rc = get_one_file(l->s, dir, f);
	return rc < 0 ? err_wrap("image file %s", l->defer) : 0;
}

const uint8_t *store_lazy_data(const struct store_lazy *l)
{
	return l->data;
}

uint64_t store_lazy_size(const struct store_lazy *l)
{
	return l->size;
}

/* ---- fetching ---- */

/* The chunk holding byte off (off < size). */
static size_t chunk_at(const struct store_lazy *l, uint64_t off)
{
	size_t lo = 0, hi = l->nunits;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->offs[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

struct lazy_batch {
	struct store_lazy *l;
	size_t *idx;             /* chunk numbers */
	struct backend_get *reqs;
	char (*keys)[CHUNK_KEY_MAX];
	size_t n;
};

/* A chunk that fails its check may be a bad cache copy: drop it and read
 * it again from the store (as get.c does). */
static int decode_chunk(void *arg, size_t i)
{
	struct lazy_batch *b = arg;
	struct store_lazy *l = b->l;
	const struct mchunk *c = &l->f->chunks[b->idx[i]];
	struct backend_get *r = &b->reqs[i];
	uint8_t *dst = l->data + l->offs[b->idx[i]];

	if (r->status != 0)
		return 0;   /* the caller decides about failed requests */
	return chunk_decode_fetched(l->s, r, c, dst);
}

static void batch_release(struct lazy_batch *b)
{
	for (size_t i = 0; b->reqs && i < b->n; i++)
		buf_free(&b->reqs[i].out);
	free(b->reqs);
	free(b->keys);
}

/* One get_many over the chunks b->idx[0..n); marks the ones that came in.
 * Returns 0 when all are in, 1 when some failed in a way worth retrying
 * (the store did not answer), -1 on an error (absent or corrupt chunk). */
static int fetch_pages_once(struct lazy_batch *b)
{
	struct store_lazy *l = b->l;
	struct store_cache_stats c0, c1;
	struct pages_read rd = { 0 };
	int rc;

	store_cache_stats(l->s, &c0);
	rc = pages_fetch(l->s, l->f, &l->ix, b->idx, b->n, l->data, 0, l->in, &rd);
	store_cache_stats(l->s, &c1);
	l->st.requests++;
	l->st.bytes_cache += c1.hit_bytes - c0.hit_bytes;
	l->st.bytes_store += rd.bytes_store - (c1.hit_bytes - c0.hit_bytes);
	for (size_t i = 0; i < b->n; i++)
		if (l->in[b->idx[i]] == 1) {
			l->st.chunks_in++;
			l->st.plain_in += STORE_PAGE;
		}
	return rc;
}

static int fetch_once(struct lazy_batch *b)
{
	struct store_lazy *l = b->l;
	struct store_cache_stats c0, c1;
	uint64_t bytes = 0;
	int again = 0;

	if (l->f->paged)
		return fetch_pages_once(b);
	b->reqs = calloc(b->n, sizeof(*b->reqs));
	b->keys = calloc(b->n, sizeof(*b->keys));
	if (!b->reqs || !b->keys)
		return err_set("out of memory");
	for (size_t i = 0; i < b->n; i++) {
		chunk_key(l->f->chunks[b->idx[i]].hash, b->keys[i]);
		b->reqs[i].key = b->keys[i];
	}
	store_cache_stats(l->s, &c0);
	l->s->be.ops->get_many(l->s->be.be, b->reqs, b->n);
	err_clear();   /* per request status below says what failed */
	store_cache_stats(l->s, &c1);
	l->st.requests++;
	for (size_t i = 0; i < b->n; i++) {
		char hex[HASH_HEX];

		if (b->reqs[i].status == 1) {
			hash_hex(l->f->chunks[b->idx[i]].hash, hex);
			return err_set("chunk %s missing from the store", hex);
		}
		bytes += b->reqs[i].status == 0 ? b->reqs[i].out.len : 0;
		again |= b->reqs[i].status < 0;
	}
	if (pool_run(b->n, l->s->threads, decode_chunk, b) < 0)
		return -1;
	l->st.bytes_cache += c1.hit_bytes - c0.hit_bytes;
	l->st.bytes_store += bytes - (c1.hit_bytes - c0.hit_bytes);
	for (size_t i = 0; i < b->n; i++) {
		if (b->reqs[i].status != 0)
			continue;
		l->in[b->idx[i]] = 1;
		l->st.chunks_in++;
		l->st.plain_in += unit_len(l, b->idx[i]);
	}
	return again;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Fetch chunks idx[0..n) (none of them in), asking again while the store
 * fails, until deadline_ns. */
static int fetch_chunks(struct store_lazy *l, size_t *idx, size_t n, uint64_t deadline_ns)
{
	unsigned wait = RETRY_FIRST_MS;

	while (n > 0) {
		struct lazy_batch b = { .l = l, .idx = idx, .n = n };
		int rc = fetch_once(&b);
		size_t left = 0;

		batch_release(&b);
		if (rc < 0)
			return -1;
		for (size_t i = 0; i < n; i++)
			if (!l->in[idx[i]])
				idx[left++] = idx[i];
		n = left;
		if (n == 0)
			break;
		if (now_ns() >= deadline_ns)
			return err_set("the store did not answer for %llu chunk(s) of file %s "
				       "(gave up after the timeout)", (unsigned long long)n,
				       l->f->name);
		l->st.retries++;
		sleep_ms(wait);
		wait = wait * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : wait * 2;
	}
	return 0;
}

/* ensure_index, asking the store again while it fails (it may be away
 * for a while, as for pages: fetch_chunks), until deadline_ns. */
static int index_until(struct store_lazy *l, uint64_t deadline_ns)
{
	unsigned wait = RETRY_FIRST_MS;

	while (ensure_index(l) < 0) {
		if (now_ns() >= deadline_ns) {
			char why[512];

			snprintf(why, sizeof(why), "%s", err_msg());
			return err_set("the store did not answer for the page index of file %s "
				       "(gave up after the timeout): %s", l->f->name, why);
		}
		err_clear();
		l->st.retries++;
		sleep_ms(wait);
		wait = wait * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : wait * 2;
	}
	return 0;
}

/* The chunks the ranges touch that are not in, each once. */
static int wanted_chunks(struct store_lazy *l, const struct store_range *r, size_t nr,
			 size_t **out, size_t *nout)
{
	size_t n = 0, cap = 0, *v = NULL;

	for (size_t k = 0; k < nr; k++) {
		if (r[k].len == 0)
			continue;
		if (r[k].off >= l->size || r[k].len > l->size - r[k].off) {
			free(v);
			return err_set("range %llu+%llu is outside file %s (%llu bytes)",
				       (unsigned long long)r[k].off, (unsigned long long)r[k].len,
				       l->f->name, (unsigned long long)l->size);
		}
		for (size_t i = chunk_at(l, r[k].off); i < l->nunits &&
		     l->offs[i] < r[k].off + r[k].len; i++) {
			if (l->in[i])
				continue;
			if (n == cap) {
				size_t *nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));

				if (!nv) {
					free(v);
					return err_set("out of memory");
				}
				v = nv;
			}
			l->in[i] = 2;   /* wanted: listed once */
			v[n++] = i;
		}
	}
	for (size_t i = 0; i < n; i++)
		l->in[v[i]] = 0;
	*out = v;
	*nout = n;
	return 0;
}

int store_lazy_fetch(struct store_lazy *l, const struct store_range *r, size_t n,
		     int timeout_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000ull;
	size_t *idx = NULL, nidx = 0;
	size_t batch = l->f->paged ? LAZY_BATCH_PAGES : LAZY_BATCH_CHUNKS;
	int rc;

	pthread_mutex_lock(&l->lock);
	lazy_join_runs(l);
	rc = wanted_chunks(l, r, n, &idx, &nidx);
	if (rc == 0 && nidx)
		rc = index_until(l, deadline);
	for (size_t at = 0; rc == 0 && at < nidx; at += batch) {
		size_t cnt = nidx - at < batch ? nidx - at : batch;

		rc = fetch_chunks(l, idx + at, cnt, deadline);
	}
	pthread_mutex_unlock(&l->lock);
	free(idx);
	return rc < 0 ? err_wrap("read file %s from %s", l->f->name, l->s->url) : 0;
}

void store_lazy_drop(struct store_lazy *l, uint64_t off, uint64_t len)
{
	const uint64_t pg = 4096;

	if (len == 0 || off >= l->size)
		return;
	pthread_mutex_lock(&l->lock);
	lazy_join_runs(l);
	for (size_t i = chunk_at(l, off); i < l->nunits && l->offs[i + 1] <= off + len; i++) {
		uint64_t lo = (l->offs[i] + pg - 1) / pg * pg, hi = l->offs[i + 1] / pg * pg;

		if (l->in[i] != 1 || l->offs[i] < off)
			continue;
		/* Only whole pages inside the chunk: a page it shares with a
		 * neighbour keeps the neighbour's bytes.  The chunk counts as
		 * out: a later fetch writes it whole again. */
		if (hi > lo)
			madvise(l->data + lo, hi - lo, MADV_DONTNEED);
		l->in[i] = 0;
		l->st.chunks_in--;
		l->st.plain_in -= unit_len(l, i);
		l->st.chunks_dropped++;
	}
	pthread_mutex_unlock(&l->lock);
}

int store_lazy_has(struct store_lazy *l, uint64_t off, uint64_t len)
{
	int all = 1;

	if (len == 0)
		return 1;
	if (off >= l->size || len > l->size - off)
		return 0;
	pthread_mutex_lock(&l->lock);
	lazy_join_runs(l);
	for (size_t i = chunk_at(l, off); all && i < l->nunits && l->offs[i] < off + len; i++)
		all = l->in[i] == 1;
	pthread_mutex_unlock(&l->lock);
	return all;
}

void store_lazy_get_stats(struct store_lazy *l, struct store_lazy_stats *st)
{
	pthread_mutex_lock(&l->lock);
	*st = l->st;
	pthread_mutex_unlock(&l->lock);
}

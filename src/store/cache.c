/*
 * cache.c - a local, size-limited LRU cache of chunks and packs in front of a
 * (remote) backend, itself a struct backend.
 *
 * Only chunks and packs ("chunks/...", "packs/...") are cached: they are
 * immutable and verified by hash on every read (a pack page by page), so a
 * cached copy can never be stale.  A pack is kept when written, and read
 * by range from the local copy; a range read from the remote is not kept.  Everything else
 * (manifests, listings, existence checks for dedup) goes to the remote,
 * which stays the truth.  Writes go through to the remote and are kept
 * locally too, so an image revived on the machine that stored it is read
 * from local disk.  A cache hit refreshes the local file's mtime; when the
 * cache grows past its limit the oldest files go until it is at 90%.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/internal.h"

struct cachebe {
	struct backend remote;
	struct backend local;        /* a file backend on the cache directory */
	uint64_t max;
	pthread_mutex_t lock;        /* bytes and eviction */
	uint64_t bytes;
	atomic_uint_fast64_t hits, misses, evictions;
	atomic_uint_fast64_t hit_bytes;   /* encoded bytes read from the cache */
};

/* Chunks and packs: immutable, named by their hash. */
static int cacheable(const char *key)
{
	return !strncmp(key, "chunks/", 7) || !strncmp(key, "packs/", 6);
}

static int local_stat(struct cachebe *c, const char *key, uint64_t *size)
{
	int64_t mtime;

	return c->local.ops->stat(c->local.be, key, size, &mtime);
}

struct lfile {
	char *key;
	uint64_t size;
	int64_t mtime;
};

struct lfiles {
	struct lfile *v;
	size_t n, cap;
	uint64_t bytes;
};

static int lfiles_cb(const char *key, uint64_t size, int64_t mtime, void *arg)
{
	struct lfiles *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct lfile *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return err_set("out of memory");
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n].key = strdup(key)))
		return err_set("out of memory");
	l->v[l->n].size = size;
	l->v[l->n++].mtime = mtime;
	l->bytes += size;
	return 0;
}

static void lfiles_free(struct lfiles *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].key);
	free(l->v);
}

static int lfile_cmp(const void *a, const void *b)
{
	const struct lfile *x = a, *y = b;

	return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

/* Every file the cache holds. */
static int list_local(struct cachebe *c, struct lfiles *l)
{
	if (c->local.ops->list(c->local.be, "chunks/", lfiles_cb, l) < 0)
		return -1;
	return c->local.ops->list(c->local.be, "packs/", lfiles_cb, l);
}

/* Called with c->lock held: delete least recently used files. */
static void evict_locked(struct cachebe *c)
{
	struct lfiles l = { 0 };
	uint64_t target = c->max / 10 * 9;

	if (list_local(c, &l) < 0) {
		lfiles_free(&l);
		err_clear();
		return;
	}
	c->bytes = l.bytes;
	qsort(l.v, l.n, sizeof(*l.v), lfile_cmp);
	for (size_t i = 0; i < l.n && c->bytes > target; i++) {
		if (c->local.ops->del(c->local.be, l.v[i].key) < 0)
			continue;
		c->bytes -= l.v[i].size;
		atomic_fetch_add(&c->evictions, 1);
	}
	lfiles_free(&l);
	err_clear();
}

/* Keep a copy of a chunk; failures only cost a later miss. */
static void cache_insert(struct cachebe *c, const char *key, const void *data,
			 size_t len)
{
	int rc = c->local.ops->put(c->local.be, key, data, len, 1);

	if (rc == 0) {
		pthread_mutex_lock(&c->lock);
		c->bytes += len;
		if (c->bytes > c->max)
			evict_locked(c);
		pthread_mutex_unlock(&c->lock);
	}
	err_clear();
}

/* Local copy of key into out: 0 hit, 1 miss. */
static int cache_lookup(struct cachebe *c, const char *key, struct buf *out)
{
	int rc = c->local.ops->get(c->local.be, key, out);

	if (rc == 0) {
		c->local.ops->touch(c->local.be, key);
		atomic_fetch_add(&c->hits, 1);
		atomic_fetch_add(&c->hit_bytes, out->len);
		return 0;
	}
	err_clear();
	atomic_fetch_add(&c->misses, 1);
	return 1;
}

static int cache_put(void *be, const char *key, const void *data, size_t len,
		     int if_absent)
{
	struct cachebe *c = be;
	int rc = c->remote.ops->put(c->remote.be, key, data, len, if_absent);

	if (rc == 0 && cacheable(key))
		cache_insert(c, key, data, len);
	return rc;
}

static int cache_get(void *be, const char *key, struct buf *out)
{
	struct cachebe *c = be;
	int rc;

	if (!cacheable(key))
		return c->remote.ops->get(c->remote.be, key, out);
	if (cache_lookup(c, key, out) == 0)
		return 0;
	rc = c->remote.ops->get(c->remote.be, key, out);
	if (rc == 0)
		cache_insert(c, key, out->data, out->len);
	return rc;
}

static int whole_chunk(const struct backend_get *r)
{
	return cacheable(r->key) && r->off == 0 && r->len == 0 && !r->dst;
}

/* A range of a cached object (a pack's pages), read from the local copy:
 * 0 hit, 1 miss. */
static int range_lookup(struct cachebe *c, struct backend_get *r)
{
	struct backend_get one = *r;

	one.out = (struct buf){ 0 };
	if (!cacheable(r->key) || r->len == 0 ||
	    c->local.ops->get_many(c->local.be, &one, 1) < 0 || one.status != 0) {
		buf_free(&one.out);
		err_clear();
		return 1;
	}
	r->out = one.out;
	c->local.ops->touch(c->local.be, r->key);
	err_clear();
	atomic_fetch_add(&c->hits, 1);
	atomic_fetch_add(&c->hit_bytes, r->len);
	return 0;
}

static int cache_get_many(void *be, struct backend_get *reqs, size_t n)
{
	struct cachebe *c = be;
	struct backend_get *miss;
	size_t *idx, nmiss = 0;
	int rc = 0;

	miss = calloc(n ? n : 1, sizeof(*miss));
	idx = calloc(n ? n : 1, sizeof(*idx));
	if (!miss || !idx) {
		free(miss);
		free(idx);
		return err_set("out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		reqs[i].status = 0;
		if (whole_chunk(&reqs[i]) && cache_lookup(c, reqs[i].key, &reqs[i].out) == 0)
			continue;
		if (!whole_chunk(&reqs[i]) && range_lookup(c, &reqs[i]) == 0)
			continue;
		miss[nmiss] = reqs[i];
		miss[nmiss].out = (struct buf){ 0 };
		idx[nmiss++] = i;
	}
	if (nmiss)
		rc = c->remote.ops->get_many(c->remote.be, miss, nmiss);
	for (size_t k = 0; k < nmiss; k++) {
		struct backend_get *r = &reqs[idx[k]];

		buf_free(&r->out);
		r->out = miss[k].out;
		r->status = miss[k].status;
		if (r->status == 0 && whole_chunk(r))
			cache_insert(c, r->key, r->out.data, r->out.len);
	}
	free(miss);
	free(idx);
	return rc;
}

static int cache_head(void *be, const char *key, uint64_t *size)
{
	struct cachebe *c = be;

	return c->remote.ops->head(c->remote.be, key, size);
}

static int cache_list(void *be, const char *prefix, backend_list_cb cb, void *arg)
{
	struct cachebe *c = be;

	return c->remote.ops->list(c->remote.be, prefix, cb, arg);
}

static int cache_del(void *be, const char *key)
{
	struct cachebe *c = be;

	if (cacheable(key)) {
		uint64_t size;

		if (local_stat(c, key, &size) == 0 &&
		    c->local.ops->del(c->local.be, key) == 0) {
			pthread_mutex_lock(&c->lock);
			c->bytes -= size < c->bytes ? size : c->bytes;
			pthread_mutex_unlock(&c->lock);
		}
		err_clear();
	}
	return c->remote.ops->del(c->remote.be, key);
}

static int cache_forget(void *be, const char *key)
{
	struct cachebe *c = be;
	uint64_t size;

	if (!cacheable(key))
		return 1;
	if (local_stat(c, key, &size) != 0) {
		err_clear();
		return 0;   /* already gone (another reader of the chunk dropped it) */
	}
	if (c->local.ops->del(c->local.be, key) < 0)
		return -1;
	pthread_mutex_lock(&c->lock);
	c->bytes -= size < c->bytes ? size : c->bytes;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static int cache_stat(void *be, const char *key, uint64_t *size, int64_t *mtime)
{
	struct cachebe *c = be;

	return backend_stat(&c->remote, key, size, mtime);
}

static int cache_touch(void *be, const char *key)
{
	struct cachebe *c = be;

	return backend_touch(&c->remote, key);
}

/* The store's temporary files; the cache's own are its eviction's job. */
static int cache_sweep_tmp(void *be, int64_t cutoff, int dry_run, backend_list_cb cb, void *arg)
{
	struct cachebe *c = be;

	return backend_sweep_tmp(&c->remote, cutoff, dry_run, cb, arg);
}

static void cache_close(void *be)
{
	struct cachebe *c = be;

	c->remote.ops->close(c->remote.be);
	c->local.ops->close(c->local.be);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void cache_get_stats(void *be, struct store_cache_stats *st)
{
	struct cachebe *c = be;

	st->hits = atomic_load(&c->hits);
	st->misses = atomic_load(&c->misses);
	st->evictions = atomic_load(&c->evictions);
	st->hit_bytes = atomic_load(&c->hit_bytes);
	pthread_mutex_lock(&c->lock);
	st->bytes = c->bytes;
	pthread_mutex_unlock(&c->lock);
	st->max_bytes = c->max;
}

static const struct backend_ops cache_backend_ops = {
	.scheme = "cache",
	.put = cache_put,
	.get = cache_get,
	.get_many = cache_get_many,
	.head = cache_head,
	.list = cache_list,
	.del = cache_del,
	.close = cache_close,
	.stat = cache_stat,
	.touch = cache_touch,
	.sweep_tmp = cache_sweep_tmp,
	.forget = cache_forget,
	.cache_stats = cache_get_stats,
};

int cache_open(const char *dir, uint64_t max_bytes, struct backend *remote,
	       struct backend *out)
{
	struct cachebe *c = calloc(1, sizeof(*c));
	struct lfiles l = { 0 };

	if (!c)
		return err_set("out of memory");
	if (backend_file_open(dir, &c->local) < 0) {
		free(c);
		return -1;
	}
	if (list_local(c, &l) < 0) {
		lfiles_free(&l);
		c->local.ops->close(c->local.be);
		free(c);
		return -1;
	}
	c->bytes = l.bytes;
	lfiles_free(&l);
	c->remote = *remote;
	c->max = max_bytes;
	pthread_mutex_init(&c->lock, NULL);
	if (c->bytes > c->max)
		evict_locked(c);
	out->ops = &cache_backend_ops;
	out->be = c;
	return 0;
}

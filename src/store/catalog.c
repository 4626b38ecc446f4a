/*
 * catalog.c - what a store holds, for ls/du/fsck/gc: every committed
 * manifest, every chunk and pack object (with size and mtime), and the
 * sets of chunks and packs the manifests reference.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/internal.h"

void catalog_free(struct catalog *c)
{
	for (size_t i = 0; i < c->n; i++) {
		manifest_free(&c->m[i]);
		free(c->bad[i]);
	}
	image_refs_free(c->refs, c->n);
	free(c->m);
	free(c->bad);
	free(c->chunks);
	free(c->marks);
	free(c->packs.v);
	free(c->packs.marks);
	memset(c, 0, sizeof(*c));
}

static int read_manifests(struct backend *b, struct catalog *c, int strict)
{
	c->m = calloc(c->n ? c->n : 1, sizeof(*c->m));
	c->bad = calloc(c->n ? c->n : 1, sizeof(*c->bad));
	if (!c->m || !c->bad)
		return err_set("out of memory");
	for (size_t i = 0; i < c->n; i++) {
		int rc = image_read_manifest(b, c->refs[i].name, c->refs[i].gen, &c->m[i]);

		if (rc == 1)
			continue;          /* pruned since the listing */
		if (rc < 0 && strict)
			return -1;
		if (rc < 0 && !(c->bad[i] = strdup(err_msg())))
			return err_set("out of memory");
	}
	return 0;
}

static int chunk_cb(const char *key, uint64_t size, int64_t mtime, void *arg)
{
	struct catalog *c = arg;
	struct stored_chunk *sc;

	if (strlen(key) != 10 + HASH_LEN * 2 || strncmp(key, "chunks/", 7) ||
	    key[9] != '/' || strncmp(key + 7, key + 10, 2))
		return 0;                  /* not a chunk key: not ours */
	if (c->nchunks % 1024 == 0) {
		sc = realloc(c->chunks, (c->nchunks + 1024) * sizeof(*sc));
		if (!sc)
			return err_set("out of memory");
		c->chunks = sc;
	}
	sc = &c->chunks[c->nchunks];
	if (hash_parse(key + 10, sc->hash) < 0) {
		err_clear();
		return 0;
	}
	sc->size = size;
	sc->mtime = mtime;
	c->nchunks++;
	return 0;
}

/* "packs/hh/HASH" */
static int pack_cb(const char *key, uint64_t size, int64_t mtime, void *arg)
{
	struct objects *o = arg;
	struct stored_chunk *sc;

	if (strlen(key) != 9 + HASH_LEN * 2 || strncmp(key, "packs/", 6) ||
	    key[8] != '/' || strncmp(key + 6, key + 9, 2))
		return 0;                  /* not a pack key: not ours */
	if (o->n % 1024 == 0) {
		sc = realloc(o->v, (o->n + 1024) * sizeof(*sc));
		if (!sc)
			return err_set("out of memory");
		o->v = sc;
	}
	sc = &o->v[o->n];
	if (hash_parse(key + 9, sc->hash) < 0) {
		err_clear();
		return 0;
	}
	sc->size = size;
	sc->mtime = mtime;
	o->n++;
	return 0;
}

static int mark_cmp(const void *a, const void *b)
{
	const struct mark *x = a, *y = b;

	return memcmp(x->hash, y->hash, HASH_LEN);
}

static int stored_cmp(const void *a, const void *b)
{
	return memcmp(((const struct stored_chunk *)a)->hash,
		      ((const struct stored_chunk *)b)->hash, HASH_LEN);
}

static size_t unique_marks(struct mark *v, size_t n)
{
	size_t k = 0;

	qsort(v, n, sizeof(*v), mark_cmp);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || mark_cmp(&v[k - 1], &v[i]))
			v[k++] = v[i];
	return k;
}

/* Sorted, unique references of all readable manifests. */
static int mark_all(struct catalog *c)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < c->n; i++)
		for (size_t f = 0; f < c->m[i].nfiles; f++)
			n += c->m[i].files[f].nchunks;
	c->marks = malloc((n ? n : 1) * sizeof(*c->marks));
	if (!c->marks)
		return err_set("out of memory");
	for (size_t i = 0; i < c->n; i++)
		for (size_t f = 0; f < c->m[i].nfiles; f++)
			for (size_t j = 0; j < c->m[i].files[f].nchunks; j++) {
				struct mark *mk = &c->marks[k++];

				memcpy(mk->hash, c->m[i].files[f].chunks[j].hash, HASH_LEN);
				mk->len = c->m[i].files[f].chunks[j].len;
				mk->manifest = i;
				mk->file = f;
			}
	c->nmarks = unique_marks(c->marks, n);
	return 0;
}

/* The packs of every paged file of the readable manifests. */
static int mark_packs(struct catalog *c)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < c->n; i++)
		for (size_t f = 0; f < c->m[i].nfiles; f++)
			n += c->m[i].files[f].npacks;
	c->packs.marks = malloc((n ? n : 1) * sizeof(*c->packs.marks));
	if (!c->packs.marks)
		return err_set("out of memory");
	for (size_t i = 0; i < c->n; i++)
		for (size_t f = 0; f < c->m[i].nfiles; f++)
			for (size_t j = 0; j < c->m[i].files[f].npacks; j++) {
				struct mark *mk = &c->packs.marks[k++];

				memcpy(mk->hash, c->m[i].files[f].packs[j].hash, HASH_LEN);
				mk->len = c->m[i].files[f].packs[j].size;
				mk->manifest = i;
				mk->file = f;
			}
	c->packs.nmarks = unique_marks(c->packs.marks, n);
	return 0;
}

int catalog_load(struct backend *b, struct catalog *c, int strict)
{
	memset(c, 0, sizeof(*c));
	/* Chunks are listed before manifests: a chunk committed after the
	 * listing is young, and GC spares young chunks. */
	if (b->ops->list(b->be, "chunks/", chunk_cb, c) < 0 ||
	    b->ops->list(b->be, "packs/", pack_cb, &c->packs) < 0)
		goto fail;
	if (image_list_all(b, &c->refs, &c->n) < 0)
		goto fail;
	if (read_manifests(b, c, strict) < 0 || mark_all(c) < 0 || mark_packs(c) < 0)
		goto fail;
	if (c->nchunks)
		qsort(c->chunks, c->nchunks, sizeof(*c->chunks), stored_cmp);
	if (c->packs.n)
		qsort(c->packs.v, c->packs.n, sizeof(*c->packs.v), stored_cmp);
	return 0;
fail:
	catalog_free(c);
	return err_wrap("read store catalog");
}

const struct mark *catalog_marked(const struct catalog *c, const uint8_t h[HASH_LEN])
{
	struct mark key;

	memcpy(key.hash, h, HASH_LEN);
	return c->nmarks ? bsearch(&key, c->marks, c->nmarks, sizeof(key), mark_cmp) : NULL;
}

const struct stored_chunk *catalog_stored(const struct catalog *c,
					  const uint8_t h[HASH_LEN])
{
	struct stored_chunk key;

	memcpy(key.hash, h, HASH_LEN);
	return c->nchunks ? bsearch(&key, c->chunks, c->nchunks, sizeof(key),
				    stored_cmp) : NULL;
}

const struct mark *objects_marked(const struct objects *o, const uint8_t h[HASH_LEN])
{
	struct mark key;

	memcpy(key.hash, h, HASH_LEN);
	return o->nmarks ? bsearch(&key, o->marks, o->nmarks, sizeof(key), mark_cmp) : NULL;
}

const struct stored_chunk *objects_stored(const struct objects *o,
					  const uint8_t h[HASH_LEN])
{
	struct stored_chunk key;

	memcpy(key.hash, h, HASH_LEN);
	return o->n ? bsearch(&key, o->v, o->n, sizeof(key), stored_cmp) : NULL;
}

/*
 * catalog.c - what a store holds, for ls/du/fsck/gc: every committed
 * manifest, every chunk object (with size and mtime), and the set of
 * chunks the manifests reference.
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
	qsort(c->marks, n, sizeof(*c->marks), mark_cmp);
	c->nmarks = 0;
	for (size_t i = 0; i < n; i++)
		if (c->nmarks == 0 || mark_cmp(&c->marks[c->nmarks - 1], &c->marks[i]))
			c->marks[c->nmarks++] = c->marks[i];
	return 0;
}

int catalog_load(struct backend *b, struct catalog *c, int strict)
{
	memset(c, 0, sizeof(*c));
	/* Chunks are listed before manifests: a chunk committed after the
	 * listing is young, and GC spares young chunks. */
	if (b->ops->list(b->be, "chunks/", chunk_cb, c) < 0)
		goto fail;
	if (image_list_all(b, &c->refs, &c->n) < 0)
		goto fail;
	if (read_manifests(b, c, strict) < 0 || mark_all(c) < 0)
		goto fail;
	if (c->nchunks)
		qsort(c->chunks, c->nchunks, sizeof(*c->chunks), stored_cmp);
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

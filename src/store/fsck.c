/*
 * fsck.c - store_fsck(): every committed manifest readable, every chunk
 * it names present, decodable and matching its hash, every pack present
 * with its size, and every page of a paged file decodable from its pack
 * and matching its hash.  Each problem is one line naming the manifest,
 * chunk, pack or page; unreferenced objects are counted (GC's business),
 * not problems.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/internal.h"

struct fsck {
	struct store *s;
	struct catalog *c;
	char **problem;               /* problem[i] for marks[i], or NULL */
};

static int check_chunk(void *arg, size_t i)
{
	struct fsck *f = arg;
	const struct mark *mk = &f->c->marks[i];
	const struct manifest *m = &f->c->m[mk->manifest];
	char key[CHUNK_KEY_MAX], hex[HASH_HEX], msg[1200];
	struct buf obj = { 0 };
	uint8_t *plain = malloc(mk->len);
	int rc;

	if (!plain)
		return err_set("out of memory");
	chunk_key(mk->hash, key);
	hash_hex(mk->hash, hex);
	msg[0] = '\0';
	rc = f->s->be.ops->get(f->s->be.be, key, &obj);
	if (rc == 1)
		snprintf(msg, sizeof(msg), "missing chunk %s", hex);
	else if (rc < 0)
		snprintf(msg, sizeof(msg), "unreadable chunk %s: %s", hex, err_msg());
	else if (chunk_decode(obj.data, obj.len, mk->hash, plain, mk->len) < 0)
		snprintf(msg, sizeof(msg), "bad chunk %s: %s", hex, err_msg());
	buf_free(&obj);
	free(plain);
	err_clear();
	if (msg[0] == '\0')
		return 0;
	/* Name where it is used, so the operator knows what is damaged. */
	snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
		 " (image %s generation %llu file %s)", m->image,
		 (unsigned long long)m->generation, m->files[mk->file].name);
	f->problem[i] = strdup(msg);
	return f->problem[i] ? 0 : err_set("out of memory");
}

/* Packs: present, of the size the manifests say. */
static size_t check_packs(const struct catalog *c, FILE *out)
{
	size_t bad = 0;
	char hex[HASH_HEX];

	for (size_t i = 0; i < c->packs.nmarks; i++) {
		const struct mark *mk = &c->packs.marks[i];
		const struct stored_chunk *sc = objects_stored(&c->packs, mk->hash);
		const struct manifest *m = &c->m[mk->manifest];

		if (sc && sc->size == mk->len)
			continue;
		hash_hex(mk->hash, hex);
		if (sc)
			fprintf(out, "bad pack %s: %llu bytes, not %llu", hex,
				(unsigned long long)sc->size, (unsigned long long)mk->len);
		else
			fprintf(out, "missing pack %s", hex);
		fprintf(out, " (image %s generation %llu file %s)\n", m->image,
			(unsigned long long)m->generation, m->files[mk->file].name);
		bad++;
	}
	return bad;
}

#define CHECK_PAGES 8192

/* Every page of paged file f: read from its pack and checked. */
static int check_pages(struct store *s, const struct manifest *m, const struct mfile *f,
		       FILE *out)
{
	struct pindex ix;
	struct pages_read rd = { 0 };
	size_t *idx = malloc(CHECK_PAGES * sizeof(*idx));
	uint8_t *plain = malloc((size_t)CHECK_PAGES * STORE_PAGE), *done = NULL;
	int rc = pages_load_index(s, f, &ix);

	if (rc == 0 && (!idx || !plain || !(done = calloc(ix.n + 1, 1))))
		rc = err_set("out of memory");
	for (size_t first = 0; rc == 0 && first < ix.n; first += CHECK_PAGES) {
		size_t n = ix.n - first < CHECK_PAGES ? ix.n - first : CHECK_PAGES;

		for (size_t k = 0; k < n; k++)
			idx[k] = first + k;
		rc = pages_fetch(s, f, &ix, idx, n, plain, first, done, &rd);
		if (rc > 0)
			rc = err_set("the store failed to answer");
	}
	if (rc < 0)
		fprintf(out, "bad pages: %s (image %s generation %llu)\n", err_msg(), m->image,
			(unsigned long long)m->generation);
	err_clear();
	pindex_free(&ix);
	free(idx);
	free(plain);
	free(done);
	return rc < 0;
}

static int report(struct fsck *f, FILE *out)
{
	size_t bad = 0, orphans = 0;

	for (size_t i = 0; i < f->c->n; i++)
		if (f->c->bad[i]) {
			fprintf(out, "bad manifest: %s\n", f->c->bad[i]);
			bad++;
		}
	for (size_t i = 0; i < f->c->nmarks; i++)
		if (f->problem[i]) {
			fprintf(out, "%s\n", f->problem[i]);
			bad++;
		}
	bad += check_packs(f->c, out);
	for (size_t i = 0; i < f->c->n; i++)
		for (size_t j = 0; j < f->c->m[i].nfiles; j++)
			if (f->c->m[i].files[j].paged)
				bad += (size_t)check_pages(f->s, &f->c->m[i], &f->c->m[i].files[j],
							   out);
	for (size_t i = 0; i < f->c->nchunks; i++)
		orphans += catalog_marked(f->c, f->c->chunks[i].hash) == NULL;
	for (size_t i = 0; i < f->c->packs.n; i++)
		orphans += objects_marked(&f->c->packs, f->c->packs.v[i].hash) == NULL;
	fprintf(out, "%zu manifests, %zu chunks referenced, %zu packs referenced, %zu unreferenced, "
		"%zu problems\n", f->c->n, f->c->nmarks, f->c->packs.nmarks, orphans, bad);
	return bad ? 1 : 0;
}

int store_fsck(struct store *s, FILE *out)
{
	struct catalog c;
	struct fsck f = { s, &c, NULL };
	int rc;

	if (catalog_load(&s->be, &c, 0) < 0)
		return err_wrap("fsck");
	f.problem = calloc(c.nmarks ? c.nmarks : 1, sizeof(*f.problem));
	if (!f.problem) {
		catalog_free(&c);
		return err_set("out of memory");
	}
	err_clear();
	rc = pool_run(c.nmarks, s->threads, check_chunk, &f);
	if (rc == 0)
		rc = report(&f, out);
	for (size_t i = 0; i < c.nmarks; i++)
		free(f.problem[i]);
	free(f.problem);
	catalog_free(&c);
	return rc;
}

/*
 * fsck.c - store_fsck(): every committed manifest readable, and every chunk
 * it names present, decodable and matching its hash.  Each problem is one
 * line naming the manifest or chunk; unreferenced chunks are counted (GC's
 * business), not problems.
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
	for (size_t i = 0; i < f->c->nchunks; i++)
		orphans += catalog_marked(f->c, f->c->chunks[i].hash) == NULL;
	fprintf(out, "%zu manifests, %zu chunks referenced, %zu unreferenced, "
		"%zu problems\n", f->c->n, f->c->nmarks, orphans, bad);
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

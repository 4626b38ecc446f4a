/*
 * names.c - where images live in a store: images/<name>/<generation>, the
 * generation zero-padded to 20 digits so keys sort by generation.  The
 * newest committed generation is the image; there is no separate pointer
 * object to update (see docs/store.md, "Commit").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/internal.h"

int image_key(const char *name, uint64_t gen, char *out, size_t outlen)
{
	if (image_name_check(name) < 0)
		return -1;
	if ((size_t)snprintf(out, outlen, "images/%s/%0*llu", name, GEN_DIGITS,
			     (unsigned long long)gen) >= outlen)
		return err_set("image key too long");
	return 0;
}

/* "images/NAME/GEN" -> name (in buf), gen.  -1 (no message) if not one. */
static int parse_image_key(const char *key, char *name, size_t namelen,
			   uint64_t *gen)
{
	const char *n = key + 7, *slash;
	char *end;

	if (strncmp(key, "images/", 7) != 0 || !(slash = strchr(n, '/')))
		return -1;
	if ((size_t)(slash - n) >= namelen || strlen(slash + 1) != GEN_DIGITS)
		return -1;
	memcpy(name, n, (size_t)(slash - n));
	name[slash - n] = '\0';
	errno = 0;
	*gen = strtoull(slash + 1, &end, 10);
	if (errno || *end || *gen == 0 || image_name_check(name) < 0) {
		err_clear();
		return -1;
	}
	return 0;
}

struct refs {
	struct image_ref *v;
	size_t n, cap;
};

static int refs_cb(const char *key, uint64_t size, int64_t mtime, void *arg)
{
	struct refs *r = arg;
	char name[IMAGE_NAME_MAX + 1];
	uint64_t gen;

	(void)size;
	if (parse_image_key(key, name, sizeof(name), &gen) < 0)
		return 0;             /* not ours: ignore */
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct image_ref *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return err_set("out of memory");
		r->v = v;
		r->cap = cap;
	}
	if (!(r->v[r->n].name = strdup(name)))
		return err_set("out of memory");
	r->v[r->n].gen = gen;
	r->v[r->n++].mtime = mtime;
	return 0;
}

static int ref_cmp(const void *a, const void *b)
{
	const struct image_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->gen < y->gen ? -1 : x->gen > y->gen;
}

void image_refs_free(struct image_ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(refs[i].name);
	free(refs);
}

static int list_refs(struct backend *b, const char *prefix,
		     struct image_ref **refs, size_t *n)
{
	struct refs r = { 0 };

	if (b->ops->list(b->be, prefix, refs_cb, &r) < 0) {
		image_refs_free(r.v, r.n);
		return err_wrap("list %s", prefix);
	}
	if (r.n)
		qsort(r.v, r.n, sizeof(*r.v), ref_cmp);
	*refs = r.v;
	*n = r.n;
	return 0;
}

int image_list_all(struct backend *b, struct image_ref **refs, size_t *n)
{
	return list_refs(b, "images/", refs, n);
}

int image_list(struct backend *b, const char *name, struct image_ref **refs, size_t *n)
{
	char prefix[IMAGE_NAME_MAX + 16];
	size_t kept = 0;

	if (image_name_check(name) < 0)
		return -1;
	snprintf(prefix, sizeof(prefix), "images/%s/", name);
	if (list_refs(b, prefix, refs, n) < 0)
		return -1;
	/* A backend may list by plain prefix: keep this name's keys only. */
	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*refs)[i].name, name) != 0) {
			free((*refs)[i].name);
			continue;
		}
		(*refs)[kept++] = (*refs)[i];
	}
	*n = kept;
	return 0;
}

int image_latest(struct backend *b, const char *name, uint64_t *gen)
{
	struct image_ref *refs = NULL;
	size_t n = 0;

	if (image_list(b, name, &refs, &n) < 0)
		return -1;
	*gen = n ? refs[n - 1].gen : 0;
	image_refs_free(refs, n);
	return 0;
}

int image_read_manifest(struct backend *b, const char *name, uint64_t gen,
			struct manifest *m)
{
	char key[IMAGE_NAME_MAX + 64];
	struct buf data = { 0 };
	int rc;

	memset(m, 0, sizeof(*m));
	if (image_key(name, gen, key, sizeof(key)) < 0)
		return -1;
	rc = b->ops->get(b->be, key, &data);
	if (rc == 0) {
		rc = manifest_parse(data.data, data.len, m);
		if (rc == 0 && (strcmp(m->image, name) || m->generation != gen)) {
			rc = err_set("store manifest names %s generation %llu",
				     m->image, (unsigned long long)m->generation);
			manifest_free(m);
		}
	}
	buf_free(&data);
	if (rc < 0)
		return err_wrap("read %s", key);
	return rc;
}

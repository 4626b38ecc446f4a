/*
 * get.c - store_get_image(): fetch one committed generation of an image
 * into a directory.  Chunks are fetched in batches with get_many (parallel
 * where the backend can), decoded and hash-checked on several threads, and
 * written into a temporary file that replaces the target only when whole.
 * A missing or corrupt chunk is an error naming the chunk.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "store/internal.h"

#define BATCH_BYTES (32u << 20)   /* plain bytes fetched per get_many */

struct batch {
	struct store *s;
	const struct mfile *f;
	size_t first, n;          /* chunk range of f */
	uint64_t off;             /* file offset of chunk `first` */
	struct backend_get *reqs;
	char (*keys)[CHUNK_KEY_MAX];
	uint64_t *offs;           /* offset of each chunk inside plain */
	uint8_t *plain;
};

static int decode_one(void *arg, size_t i)
{
	struct batch *b = arg;
	const struct mchunk *c = &b->f->chunks[b->first + i];
	struct backend_get *r = &b->reqs[i];
	char hex[HASH_HEX];

	if (r->status == 1) {
		hash_hex(c->hash, hex);
		return err_set("chunk %s missing", hex);
	}
	if (r->status < 0) {
		hash_hex(c->hash, hex);
		return err_set("chunk %s: fetch failed", hex);
	}
	return chunk_decode_fetched(b->s, r, c, b->plain + b->offs[i]);
}

static void batch_release(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		buf_free(&b->reqs[i].out);
	free(b->reqs);
	free(b->keys);
	free(b->offs);
	free(b->plain);
}

/* Fetch, check and write chunks [first, first+n) of f. */
static int fetch_batch(struct store *s, struct batch *b, int fd, const char *path)
{
	uint64_t plain_len = 0;
	int rc;

	b->reqs = calloc(b->n, sizeof(*b->reqs));
	b->keys = calloc(b->n, sizeof(*b->keys));
	b->offs = calloc(b->n, sizeof(*b->offs));
	for (size_t i = 0; b->offs && i < b->n; i++) {
		b->offs[i] = plain_len;
		plain_len += b->f->chunks[b->first + i].len;
	}
	b->plain = malloc(plain_len ? plain_len : 1);
	if (!b->reqs || !b->keys || !b->offs || !b->plain)
		return err_set("out of memory");
	for (size_t i = 0; i < b->n; i++) {
		chunk_key(b->f->chunks[b->first + i].hash, b->keys[i]);
		b->reqs[i].key = b->keys[i];
	}
	rc = s->be.ops->get_many(s->be.be, b->reqs, b->n);
	if (rc < 0) {
		size_t bad = 0;

		for (size_t i = 0; i < b->n; i++)
			bad += b->reqs[i].status != 0;
		if (bad == 0)
			return err_wrap("file %s: fetch chunks", b->f->name);
	}
	if (pool_run(b->n, s->threads, decode_one, b) < 0)
		return err_wrap("file %s offset %llu+", b->f->name,
				(unsigned long long)b->off);
	if (write_full(fd, b->plain, plain_len, (off_t)b->off) < 0)
		return err_sys("write %s", path);
	return 0;
}

static int fetch_file(struct store *s, const struct mfile *f, int fd,
		      const char *path)
{
	uint64_t off = 0;

	for (size_t i = 0; i < f->nchunks;) {
		struct batch b = { .s = s, .f = f, .first = i, .off = off };
		uint64_t bytes = 0;
		int rc;

		while (i < f->nchunks && (b.n == 0 || bytes + f->chunks[i].len <= BATCH_BYTES)) {
			bytes += f->chunks[i++].len;
			b.n++;
		}
		rc = fetch_batch(s, &b, fd, path);
		batch_release(&b);
		if (rc < 0)
			return -1;
		off += bytes;
	}
	return 0;
}

#define BATCH_PAGES (BATCH_BYTES / STORE_PAGE)

/* A paged file: its index, then its pages in batches, each checked. */
static int fetch_paged(struct store *s, const struct mfile *f, int fd, const char *path)
{
	struct pindex ix;
	struct pages_read rd = { 0 };
	size_t *idx = malloc(BATCH_PAGES * sizeof(*idx));
	uint8_t *plain = malloc(BATCH_BYTES), *done = NULL;
	int rc = pages_load_index(s, f, &ix);

	if (rc == 0 && (!idx || !plain || !(done = calloc(ix.n + 1, 1))))
		rc = err_set("out of memory");
	for (size_t first = 0; rc == 0 && first < ix.n; first += BATCH_PAGES) {
		size_t n = ix.n - first < BATCH_PAGES ? ix.n - first : BATCH_PAGES;

		for (size_t k = 0; k < n; k++)
			idx[k] = first + k;
		rc = pages_fetch(s, f, &ix, idx, n, plain, first, done, &rd);
		if (rc > 0)
			rc = err_set("file %s: the store failed to answer", f->name);
		if (rc == 0 && write_full(fd, plain, n * STORE_PAGE,
					  (off_t)(first * STORE_PAGE)) < 0)
			rc = err_sys("write %s", path);
	}
	if (ix.e)
		pindex_free(&ix);
	free(idx);
	free(plain);
	free(done);
	return rc;
}

/* Write file f of the manifest into dfd/f->name via a temporary file. */
static int get_file(struct store *s, int dfd, const char *dir,
		    const struct mfile *f)
{
	char tmp[NAME_MAX + 64], path[PATH_MAX];
	int fd, rc;

	snprintf(tmp, sizeof(tmp), ".%s.tmp-%d", f->name, (int)getpid());
	snprintf(path, sizeof(path), "%s/%s", dir, tmp);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys("create %s", path);
	rc = f->paged ? fetch_paged(s, f, fd, path) : fetch_file(s, f, fd, path);
	if (rc == 0 && fchmod(fd, f->mode) < 0)
		rc = err_sys("chmod %s", path);
	if (rc == 0 && fsync(fd) < 0)
		rc = err_sys("fsync %s", path);
	if (close(fd) < 0 && rc == 0)
		rc = err_sys("close %s", path);
	if (rc == 0 && renameat(dfd, tmp, dfd, f->name) < 0)
		rc = err_sys("rename %s to %s/%s", path, dir, f->name);
	if (rc < 0)
		unlinkat(dfd, tmp, 0);
	return rc;
}

static int is_named(const struct mfile *f, const char *name)
{
	return name && !strcmp(f->name, name);
}

int get_files(struct store *s, const struct manifest *m, const char *dir,
	      const char *skip, const char *defer, struct store_get_stats *st)
{
	int dfd, rc = 0;

	if (mkdir_p(dir) < 0)
		return -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_sys("open %s", dir);
	for (size_t i = 0; rc == 0 && i < m->nfiles; i++) {
		if (is_named(&m->files[i], skip) || is_named(&m->files[i], defer))
			continue;
		rc = get_file(s, dfd, dir, &m->files[i]);
		st->logical_bytes += m->files[i].size;
		st->chunks += m->files[i].nchunks;
	}
	if (rc == 0 && fsync(dfd) < 0)
		rc = err_sys("fsync %s", dir);
	close(dfd);
	st->files = m->nfiles;
	return rc;
}

int get_one_file(struct store *s, const char *dir, const struct mfile *f)
{
	int dfd, rc;

	if (mkdir_p(dir) < 0)
		return -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_sys("open %s", dir);
	rc = get_file(s, dfd, dir, f);
	if (rc == 0 && fsync(dfd) < 0)
		rc = err_sys("fsync %s", dir);
	close(dfd);
	return rc;
}

int store_get_image(struct store *s, const char *name, uint64_t gen,
		    const char *dir, struct store_get_stats *st)
{
	struct store_get_stats local;
	struct manifest m;
	int rc;

	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (gen == 0 && image_latest(&s->be, name, &gen) < 0)
		return err_wrap("get image %s", name);
	if (gen == 0)
		return err_set("get image %s: no such image in %s", name, s->url);
	rc = image_read_manifest(&s->be, name, gen, &m);
	if (rc == 1)
		return err_set("get image %s: generation %llu not found in %s", name,
			       (unsigned long long)gen, s->url);
	if (rc < 0)
		return err_wrap("get image %s", name);
	st->generation = gen;
	rc = get_files(s, &m, dir, NULL, NULL, st);
	manifest_free(&m);
	if (rc < 0)
		return err_wrap("get image %s generation %llu into %s", name,
				(unsigned long long)gen, dir);
	return 0;
}

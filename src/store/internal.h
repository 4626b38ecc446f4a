/*
 * internal.h - declarations shared by the files of src/store/ (not an API).
 *
 * store.h is the public interface; this header connects the pieces behind
 * it: buffers, chunking, chunk encoding, the store manifest, backend helpers
 * and the struct store itself.
 */
#ifndef PC_STORE_INTERNAL_H
#define PC_STORE_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store/backend.h"
#include "store/store.h"

/* ---- buf.c ---- */
int buf_reserve(struct buf *b, size_t need);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- chunker.c: content-defined chunking (FastCDC, gear hash) ---- */
#define CHUNK_MIN (64u * 1024)
#define CHUNK_AVG (256u * 1024)
#define CHUNK_MAX (1024u * 1024)
/* Length of the next chunk at the start of data[0..len). */
size_t chunker_next(const uint8_t *data, size_t len);

/* ---- chunk.c: hash, encode (compress) and decode (verify) chunks ---- */
#define HASH_LEN 32                  /* SHA-256 */
#define HASH_HEX (HASH_LEN * 2 + 1)
#define CHUNK_KEY_MAX (sizeof("chunks/xx/") + HASH_HEX)
int chunk_hash(const void *data, size_t len, uint8_t out[HASH_LEN]);
void hash_hex(const uint8_t h[HASH_LEN], char out[HASH_HEX]);
int hash_parse(const char *hex, uint8_t out[HASH_LEN]);
void chunk_key(const uint8_t h[HASH_LEN], char out[CHUNK_KEY_MAX]);
/* Encoded object: 1 byte format (CHUNK_RAW / CHUNK_ZSTD), then payload. */
#define CHUNK_RAW 'R'
#define CHUNK_ZSTD 'Z'
int chunk_encode(const void *plain, size_t len, struct buf *out);
/* Decode obj into dst (exactly plain_len bytes) and check its hash. */
int chunk_decode(const uint8_t *obj, size_t objlen, const uint8_t h[HASH_LEN],
		 uint8_t *dst, size_t plain_len);

/* ---- manifest.c: the store manifest of one image generation ---- */
struct mchunk {
	uint8_t hash[HASH_LEN];
	uint64_t len;                 /* plain bytes */
};
struct mfile {
	char *name;
	uint64_t size;
	uint32_t mode;
	size_t nchunks;
	struct mchunk *chunks;
};
struct manifest {
	char *image;
	uint64_t generation;
	int64_t created;              /* unix seconds */
	size_t nfiles;
	struct mfile *files;
};
int manifest_format(const struct manifest *m, struct buf *out);
int manifest_parse(const uint8_t *data, size_t len, struct manifest *m);
void manifest_free(struct manifest *m);
/* An image's name: 1-IMAGE_NAME_MAX of [A-Za-z0-9._-], not starting with
 * '.' or '-' (it is a path component of its keys: names.c). */
#define IMAGE_NAME_MAX 128
int image_name_check(const char *name);
int file_name_check(const char *name);
int mfile_add_chunk(struct mfile *f, const uint8_t h[HASH_LEN], uint64_t len);

/* ---- names.c: keys of images and generations ---- */
#define GEN_DIGITS 20
/* images/<name>/<generation, zero padded> */
int image_key(const char *name, uint64_t gen, char *out, size_t outlen);
/* Newest committed generation of an image (0: none). */
int image_latest(struct backend *b, const char *name, uint64_t *gen);
/* Read and parse one generation; 1 if it does not exist. */
int image_read_manifest(struct backend *b, const char *name, uint64_t gen,
			struct manifest *m);
/* Every committed (name, generation), sorted by name then generation. */
struct image_ref {
	char *name;
	uint64_t gen;
	int64_t mtime;
};
int image_list_all(struct backend *b, struct image_ref **refs, size_t *n);
/* The committed generations of one image, oldest first. */
int image_list(struct backend *b, const char *name, struct image_ref **refs, size_t *n);
void image_refs_free(struct image_ref *refs, size_t n);

/* ---- catalog.c: every manifest and chunk of a store ---- */
struct stored_chunk {
	uint8_t hash[HASH_LEN];
	uint64_t size;                /* encoded object size */
	int64_t mtime;
};
struct mark {                         /* a chunk some manifest references */
	uint8_t hash[HASH_LEN];
	uint64_t len;
	size_t manifest, file;        /* first referrer, for messages */
};
struct catalog {
	struct image_ref *refs;       /* committed generations */
	struct manifest *m;           /* m[i] for refs[i]; empty if unreadable */
	char **bad;                   /* bad[i]: why refs[i] is unreadable */
	size_t n;
	struct stored_chunk *chunks;  /* sorted by hash */
	size_t nchunks;
	struct mark *marks;           /* sorted, unique */
	size_t nmarks;
};
/* strict: fail when a manifest cannot be read (GC must). */
int catalog_load(struct backend *b, struct catalog *c, int strict);
void catalog_free(struct catalog *c);
const struct mark *catalog_marked(const struct catalog *c, const uint8_t h[HASH_LEN]);
const struct stored_chunk *catalog_stored(const struct catalog *c,
					  const uint8_t h[HASH_LEN]);

/* ---- backend.c: helpers over struct backend ---- */
/* Object size and mtime; 1 if absent.  Uses list() unless the backend
 * can stat directly. */
int backend_stat(struct backend *b, const char *key, uint64_t *size,
		 int64_t *mtime);
/* Refresh an object's mtime (GC's clock).  Returns 1 when the object is
 * absent, 2 when the backend cannot touch objects (the caller then writes
 * the object again). */
int backend_touch(struct backend *b, const char *key);
/* Remove the temporary objects crashed writers left (file backend: the
 * ".tmp-*" files) last modified before cutoff; cb sees each one.  A no-op
 * on backends that leave none. */
int backend_sweep_tmp(struct backend *b, int64_t cutoff, int dry_run,
		      backend_list_cb cb, void *arg);

/* ---- file.c ---- */
int file_stat(void *be, const char *key, uint64_t *size, int64_t *mtime);
int file_touch(void *be, const char *key);
int file_sweep_tmp(void *be, int64_t cutoff, int dry_run, backend_list_cb cb, void *arg);
extern const struct backend_ops file_backend_ops;

/* ---- cache.c ---- */
extern const struct backend_ops cache_backend_ops;
int cache_stat(void *be, const char *key, uint64_t *size, int64_t *mtime);
/* Drop the local copy of key: 0 dropped or already gone, 1 b is no cache. */
int cache_forget(struct backend *b, const char *key);
int cache_touch(void *be, const char *key);
int cache_sweep_tmp(void *be, int64_t cutoff, int dry_run, backend_list_cb cb, void *arg);
/* Wrap remote (taken over: closed with the cache) in an LRU chunk cache. */
int cache_open(const char *dir, uint64_t max_bytes, struct backend *remote,
	       struct backend *out);
void cache_get_stats(struct backend *b, struct store_cache_stats *st);

/* ---- get.c ---- */
/* Fetch every file of m but `skip` (NULL: none) into dir. */
int get_files(struct store *s, const struct manifest *m, const char *dir,
	      const char *skip, struct store_get_stats *st);

/* ---- pool.c: run fn(i) for i in [0, n) on up to nthreads threads ---- */
typedef int (*pool_fn)(void *arg, size_t i);
int pool_run(size_t n, unsigned nthreads, pool_fn fn, void *arg);
unsigned pool_default_threads(void);

/* ---- the store ---- */
struct store {
	struct backend be;
	char *url;
	unsigned threads;
};

#endif

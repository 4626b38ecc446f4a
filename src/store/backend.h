/*
 * backend.h - the interface every object-storage backend implements.
 *
 * A backend is a flat key/value object store: keys are relative paths such
 * as "chunks/ab/abcdef..." or "images/web1/manifest".  The chunk store
 * (store.c) is written only against these operations; file.c implements them
 * on a local directory and s3.c on any S3-compatible service.
 *
 * Every operation returns 0 on success and -1 on failure with err_set()
 * context (see common/err.h).  Operations that can find nothing return 1
 * for "not found" instead of failing.
 */
#ifndef PC_STORE_BACKEND_H
#define PC_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

/* One request of a batch fetch: get key's bytes [off, off+len) into dst.
 * len == 0 means the whole object (dst is then allocated: *out). */
struct backend_get {
	const char *key;
	uint64_t off;
	uint64_t len;
	uint8_t *dst;          /* caller's buffer of len bytes, or NULL */
	struct buf out;        /* filled when dst is NULL */
	int status;            /* 0 ok, 1 not found, -1 error (per request) */
	/* Optional, with dst: called on the thread that runs the request as
	 * bytes land, with how many of dst's first bytes are in so far (a
	 * retried request starts again at 0, with the same bytes).  A backend
	 * may never call it: the caller takes what is left once it returns. */
	void (*progress)(void *arg, uint64_t got);
	void *progress_arg;
};

struct store_cache_stats;

typedef int (*backend_list_cb)(const char *key, uint64_t size, int64_t mtime_s,
			       void *arg);

struct backend_ops {
	const char *scheme;    /* "file", "s3" */
	/* Store data under key.  if_absent: fail with status 1 (not an error)
	 * when key already exists, atomically (rename/link or If-None-Match). */
	int (*put)(void *be, const char *key, const void *data, size_t len,
		   int if_absent);
	/* Read a whole object into out (allocated).  1 if absent. */
	int (*get)(void *be, const char *key, struct buf *out);
	/* Run a batch of (ranged) reads, in parallel where the backend can.
	 * Returns -1 if any request failed; per-request status says which. */
	int (*get_many)(void *be, struct backend_get *reqs, size_t n);
	/* Size of an object; 1 if absent. */
	int (*head)(void *be, const char *key, uint64_t *size);
	/* Call cb for every key under prefix ("" for all). */
	int (*list)(void *be, const char *prefix, backend_list_cb cb, void *arg);
	/* Remove key; removing an absent key is not an error. */
	int (*del)(void *be, const char *key);
	void (*close)(void *be);

	/* Optional hooks; NULL means the backend does not have the feature
	 * and the helpers of backend.c do without (internal.h). */
	/* Size and mtime of an object in one call; 1 if absent.  NULL:
	 * found by list(). */
	int (*stat)(void *be, const char *key, uint64_t *size, int64_t *mtime);
	/* Make an object young (GC's clock); 1 if absent.  NULL: objects
	 * cannot be touched, a writer writes them again. */
	int (*touch)(void *be, const char *key);
	/* Remove temporary objects crashed writers left, older than cutoff.
	 * NULL: the backend leaves none (a failed S3 PUT leaves no object). */
	int (*sweep_tmp)(void *be, int64_t cutoff, int dry_run, backend_list_cb cb,
			 void *arg);
	/* A local cache: drop its copy of key (0), 1 if key is not cached
	 * there; and its counters.  NULL: no cache. */
	int (*forget)(void *be, const char *key);
	void (*cache_stats)(void *be, struct store_cache_stats *st);
};

struct backend {
	const struct backend_ops *ops;
	void *be;
};

/* Open a backend by URL: file:///abs/path or s3://bucket/prefix. */
int backend_open(const char *url, struct backend *out);
int backend_file_open(const char *path, struct backend *out);
int backend_s3_open(const char *bucket, const char *prefix, struct backend *out);

void buf_free(struct buf *b);
int buf_append(struct buf *b, const void *data, size_t len);

#endif

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
};

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

/*
 * backend.c - choosing a backend by URL, and helpers every backend gets:
 * stat (size + mtime), touch (refresh mtime), the sweep of crashed
 * writers' temporary objects and the local cache's forget and counters,
 * each through the backend's optional hook or done without it.
 */
#include "store/backend.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/internal.h"

/* Until src/store/s3.c is linked in, s3:// URLs fail clearly. */
__attribute__((weak)) int backend_s3_open(const char *bucket, const char *prefix,
					  struct backend *out)
{
	(void)bucket;
	(void)prefix;
	(void)out;
	return err_set("s3 backend not built");
}

static int open_s3(const char *rest, struct backend *out)
{
	const char *slash = strchr(rest, '/');
	size_t blen = slash ? (size_t)(slash - rest) : strlen(rest);
	char *bucket;
	int rc;

	if (blen == 0)
		return err_set("store URL 's3://%s': no bucket", rest);
	bucket = strndup(rest, blen);
	if (!bucket)
		return err_set("out of memory");
	rc = backend_s3_open(bucket, slash ? slash + 1 : "", out);
	free(bucket);
	return rc;
}

static int open_file(const char *url, const char *rest, struct backend *out)
{
	char *path;
	size_t n;
	int rc;

	if (rest[0] != '/')
		return err_set("store URL '%s': want file:///absolute/path", url);
	path = strdup(rest);
	if (!path)
		return err_set("out of memory");
	n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	rc = backend_file_open(path, out);
	free(path);
	return rc;
}

int backend_open(const char *url, struct backend *out)
{
	const char *sep = strstr(url, "://");

	if (!sep)
		return err_set("store URL '%s' has no scheme: use file:///PATH or "
			       "s3://BUCKET/PREFIX", url);
	if (!strncmp(url, "file://", 7))
		return open_file(url, url + 7, out);
	if (!strncmp(url, "s3://", 5))
		return open_s3(url + 5, out);
	return err_set("store URL '%s': unknown scheme '%.*s' (file or s3)", url,
		       (int)(sep - url), url);
}

struct stat_find {
	const char *key;
	uint64_t size;
	int64_t mtime;
	int found;
};

static int stat_cb(const char *key, uint64_t size, int64_t mtime, void *arg)
{
	struct stat_find *s = arg;

	if (!strcmp(key, s->key)) {
		s->size = size;
		s->mtime = mtime;
		s->found = 1;
	}
	return 0;
}

int backend_stat(struct backend *b, const char *key, uint64_t *size,
		 int64_t *mtime)
{
	struct stat_find s = { key, 0, 0, 0 };

	if (b->ops->stat)
		return b->ops->stat(b->be, key, size, mtime);
	if (b->ops->list(b->be, key, stat_cb, &s) < 0)
		return -1;
	if (!s.found)
		return 1;
	*size = s.size;
	*mtime = s.mtime;
	return 0;
}

int backend_touch(struct backend *b, const char *key)
{
	return b->ops->touch ? b->ops->touch(b->be, key) : 2;
}

int backend_sweep_tmp(struct backend *b, int64_t cutoff, int dry_run,
		      backend_list_cb cb, void *arg)
{
	if (!b->ops->sweep_tmp)
		return 0;
	return b->ops->sweep_tmp(b->be, cutoff, dry_run, cb, arg);
}

int backend_forget(struct backend *b, const char *key)
{
	return b->ops->forget ? b->ops->forget(b->be, key) : 1;
}

void backend_cache_stats(struct backend *b, struct store_cache_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (b->ops->cache_stats)
		b->ops->cache_stats(b->be, st);
}

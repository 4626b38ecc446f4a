/* store.c - opening and closing a store (a backend, maybe behind a cache). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "store/internal.h"

static int store_new(const char *url, struct store **out)
{
	struct store *s = calloc(1, sizeof(*s));

	if (!s || !(s->url = strdup(url))) {
		free(s);
		return err_set("out of memory");
	}
	s->threads = pool_default_threads();
	*out = s;
	return 0;
}

int store_open(const char *url, struct store **out)
{
	struct store *s;

	if (store_new(url, &s) < 0)
		return -1;
	if (backend_open(url, &s->be) < 0) {
		free(s->url);
		free(s);
		return err_wrap("open store %s", url);
	}
	*out = s;
	return 0;
}

int store_open_cached(const char *url, const char *cache_dir,
		      uint64_t cache_max, struct store **out)
{
	struct backend remote;
	struct store *s;

	if (store_new(url, &s) < 0)
		return -1;
	if (backend_open(url, &remote) < 0) {
		free(s->url);
		free(s);
		return err_wrap("open store %s", url);
	}
	if (cache_open(cache_dir, cache_max, &remote, &s->be) < 0) {
		remote.ops->close(remote.be);
		free(s->url);
		free(s);
		return err_wrap("open cache %s for %s", cache_dir, url);
	}
	*out = s;
	return 0;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->be.ops)
		s->be.ops->close(s->be.be);
	free(s->url);
	free(s);
}

void store_cache_stats(struct store *s, struct store_cache_stats *st)
{
	backend_cache_stats(&s->be, st);
}

int store_scratch_dir(char *buf, size_t len)
{
	const char *base = getenv("TMPDIR");

	if (!base || !*base)
		base = "/var/tmp";
	if ((size_t)snprintf(buf, len, "%s/picocenter-image.XXXXXX", base) >= len)
		return err_set("scratch directory name too long");
	if (!mkdtemp(buf))
		return err_sys("mkdtemp %s", buf);
	return 0;
}

void store_remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(dir);
}

/*
 * runtime_image.c - the image workflow both runtimes share (runtime.h): a
 * dump goes to DIR/apps/NAME/dump, into the store, and stays as the local
 * cache of the image; a restore reads the cache, or the store's newest
 * image (its timers advanced first).  A boxed tree is dumped from its box
 * and restored into it (found under ctx->box_dir).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/timing.h"
#include "cr/cr.h"
#include "store/store.h"
#include "worker/runtime.h"

static void scratch_path(const struct runtime_ctx *ctx, char *buf, size_t len)
{
	snprintf(buf, len, "%s/dump", ctx->work_dir);
}

static void cache_path(const struct runtime_ctx *ctx, char *buf, size_t len)
{
	snprintf(buf, len, "%s/image", ctx->work_dir);
}

/* The stored dump becomes the local cache of the image. */
static void keep_as_cache(const struct runtime_ctx *ctx, const char *dump)
{
	char cache[PATH_MAX];

	cache_path(ctx, cache, sizeof(cache));
	store_remove_dir(cache);
	if (rename(dump, cache) < 0)
		store_remove_dir(dump);
}

/* Restore from the cache; 0 done, -1 not possible (the store is next). */
static int restore_cached(const struct runtime_ctx *ctx, pid_t *pid)
{
	struct cr_restore_opts opts = { .listeners = ctx->holder, .box_dir = ctx->box_dir };
	char cache[PATH_MAX], manifest[PATH_MAX + 16];

	cache_path(ctx, cache, sizeof(cache));
	snprintf(manifest, sizeof(manifest), "%s/manifest", cache);
	if (!ctx->use_cache || access(manifest, R_OK) < 0)
		return -1;
	if (cr_restore_with(cache, &opts, pid) == 0)
		return 0;
	store_remove_dir(cache);     /* a bad cache is not tried again */
	return -1;
}

/* The image could not be stored: bring the app back from the local copy. */
static int resume_from_local(const char *dir, const struct runtime_ctx *ctx, pid_t *pid)
{
	struct cr_restore_opts ro = { .listeners = ctx->holder, .box_dir = ctx->box_dir };
	struct err_saved why;

	err_save(&why);
	if (cr_restore_with(dir, &ro, pid) < 0) {
		err_wrap("and resuming it from %s failed too", dir);
		return -1;
	}
	store_remove_dir(dir);
	return err_restore(&why);
}

int runtime_image_dump(pid_t *pid, const struct runtime_ctx *ctx, const struct box *b,
		       struct image_facts *facts)
{
	struct cr_dump_opts opts = { .keep_listeners = ctx->holder, .verify = ctx->verify, .box = b };
	char dir[PATH_MAX];

	scratch_path(ctx, dir, sizeof(dir));
	store_remove_dir(dir);      /* a leftover of an interrupted dump */
	if (cr_dump(*pid, dir, &opts) < 0) {
		store_remove_dir(dir);
		return -1;
	}
	timing_mark("serve: dumped");
	if (image_facts_read(dir, facts) < 0 ||
	    image_put(ctx->store_url, ctx->image, dir, facts) < 0)
		return resume_from_local(dir, ctx, pid);
	timing_mark("serve: image stored");
	keep_as_cache(ctx, dir);
	return 0;
}

int runtime_image_restore(const struct runtime_ctx *ctx, pid_t *pid, uint64_t *bytes_read)
{
	struct cr_restore_opts opts = { .listeners = ctx->holder, .box_dir = ctx->box_dir };
	char dir[PATH_MAX];
	int rc;

	timing_mark("serve: engine child");
	if (restore_cached(ctx, pid) == 0) {
		*bytes_read = 0;
		return 0;
	}
	if (store_scratch_dir(dir, sizeof(dir)) < 0)
		return -1;
	rc = image_fetch(ctx->store_url, ctx->image, dir, bytes_read);
	timing_mark("serve: image fetched");
	if (rc == 0)
		rc = image_advance_timers(dir, ctx->stored_ms);
	timing_mark("serve: timers advanced");
	if (rc == 0)
		rc = cr_restore_with(dir, &opts, pid);
	store_remove_dir(dir);
	return rc;
}

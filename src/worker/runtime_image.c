/*
 * runtime_image.c - the image workflow both runtimes share (runtime.h): a
 * dump goes to DIR/apps/NAME/dump, into the store, and stays as the local
 * cache of the image; a restore reads the cache, or the store's newest
 * image (its timers advanced first).  A lazy restore asks for the
 * generation the daemon last stored (ctx->generation), which saves
 * listing the image's generations before its manifest is read, and the
 * local copy a dump keeps in the app's directory (ctx->work_dir) saves
 * reading the manifest at all.  A boxed tree is dumped from its box
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

/* What the daemon must know of the image just stored (custody tag,
 * earliest timer): its small files, read back from the store. */
static int stored_facts(const struct runtime_ctx *ctx, const struct cr_dump_stats *st,
			struct image_facts *facts)
{
	struct store *s = NULL;
	char dir[PATH_MAX];
	int rc;

	if (store_scratch_dir(dir, sizeof(dir)) < 0)
		return -1;
	rc = store_open(ctx->store_url, &s);
	if (rc == 0)
		rc = store_get_small_files(s, ctx->image, st->generation, dir, "pages");
	if (rc == 0)
		rc = image_facts_read(dir, facts);
	if (s)
		store_close(s);
	store_remove_dir(dir);
	facts->image_bytes = st->logical_bytes;
	facts->bytes_written = st->bytes_new;
	facts->generation = st->generation;
	return rc < 0 ? err_wrap("the stored image") : 0;
}

/* Into the store as a new generation, incremental over the one the tree
 * was restored from (cr_dump_to_store); the first dump, and the first
 * after a failed swap-in, is verified and so whole.  A dump that fails
 * leaves the tree running, one whose upload fails too (the image goes into
 * the store while the tree is stopped, before it is killed). */
int runtime_image_dump(pid_t *pid, const struct runtime_ctx *ctx, const struct box *b,
		       struct image_facts *facts)
{
	struct cr_dump_opts opts = { .keep_listeners = ctx->holder, .verify = ctx->verify, .box = b,
				     .local_dir = ctx->work_dir, .cache_dir = ctx->cache_dir,
				     .cache_max = ctx->cache_dir ? RUNTIME_CACHE_MAX : 0 };
	struct cr_dump_stats st = { 0 };

	if (cr_dump_to_store(*pid, ctx->store_url, ctx->image, &opts, &st) < 0)
		return -1;
	timing_mark("serve: dumped to the store");
	if (stored_facts(ctx, &st, facts) < 0)
		return -1;
	return 0;
}

/* A napping app's image with armed timers: fetched whole, its timers
 * advanced by the time it was stored, restored from the copy. */
static int restore_advanced(const struct runtime_ctx *ctx, pid_t *pid, struct cr_mem_stats *mem)
{
	struct cr_restore_opts opts = { .listeners = ctx->holder, .box_dir = ctx->box_dir };
	char dir[PATH_MAX];
	uint64_t bytes = 0;
	int rc;

	if (store_scratch_dir(dir, sizeof(dir)) < 0)
		return -1;
	rc = image_fetch(ctx->store_url, ctx->image, dir, &bytes);
	timing_mark("serve: image fetched");
	if (rc == 0)
		rc = image_advance_timers(dir, ctx->stored_ms);
	if (rc == 0)
		rc = cr_restore_with(dir, &opts, pid);
	store_remove_dir(dir);
	mem->bytes_store = bytes;
	return rc;
}

/* Lazily from the store (cr_restore_from_store): only the manifest, the
 * small areas and the ActiveSet before the tree resumes; its keeper (the
 * tree's parent, not the daemon's child) serves every other page from
 * the store when touched. */
int runtime_image_restore(const struct runtime_ctx *ctx, pid_t *pid, struct cr_mem_stats *mem)
{
	struct cr_restore_opts opts = { .listeners = ctx->holder, .box_dir = ctx->box_dir,
					.log = ctx->log, .generation = ctx->generation,
					.local_dir = ctx->work_dir, .cache_dir = ctx->cache_dir,
					.cache_max = ctx->cache_dir ? RUNTIME_CACHE_MAX : 0 };

	timing_mark("serve: engine child");
	memset(mem, 0, sizeof(*mem));
	if (ctx->advance_timers)
		return restore_advanced(ctx, pid, mem);
	return cr_restore_from_store(ctx->store_url, ctx->image, &opts, pid, mem);
}

/*
 * runtime.h - the seam between the daemon and what runs an app: start the
 * app's tree, dump it (its sockets to the app's holder, its image to the
 * store) and restore it.  Each call runs inside an engine child (child.h).
 *
 * The last image put into the store stays in work_dir/image as a cache: a
 * restore reads it instead of fetching the image back (the daemon is the
 * image's only writer); the store copy is used when the cache is missing
 * or the image must be changed first (its timers advanced).
 *
 * runtime_box (the default) runs an app in a box of its own (src/box: a
 * container with its own root, network namespace, address, published
 * ports and cgroup, named after the app, under ctx->box_dir); the box
 * stays while the app naps, and its held sockets keep its network
 * namespace.  runtime_plain runs it as a plain `cr spawn` tree: new PID
 * and mount namespaces, the host's network and filesystem.  Both dump and
 * restore through the same image workflow (runtime_image.c).
 */
#ifndef PC_WORKER_RUNTIME_H
#define PC_WORKER_RUNTIME_H

#include <stdint.h>
#include <sys/types.h>

#include "worker/imagestore.h"
#include "worker/spec.h"

struct runtime_ctx {
	const char *store_url;    /* object store of the images */
	const char *image;        /* the app's image name in it */
	const char *holder;       /* the app's custody holder socket */
	const char *work_dir;     /* the app's private directory (scratch images) */
	const char *log;          /* the app's stdout+stderr */
	const char *box_dir;      /* the boxes' directory (box runtime), else NULL */
	int64_t stored_ms;        /* restore: time since its dump started (its
	                             wall-clock timers ran on meanwhile) */
	int use_cache;            /* restore: the local copy of the last image
	                             (work_dir/image) may be used as it is */
	int verify;               /* dump: prove the image restores before the
	                             tree is killed (cr_dump_opts.verify) */
};

struct box;

struct runtime {
	const char *name;
	/* Start spec's command; *pid = the root of its tree. */
	int (*start)(const struct app_spec *spec, const struct runtime_ctx *ctx, pid_t *pid);
	/* Checkpoint the tree into the store; its sockets go to the holder.
	 * On success the tree is gone.  On failure the app runs: *pid is its
	 * root (the same, or a new one if it had to be restored). */
	int (*dump)(pid_t *pid, const struct runtime_ctx *ctx, struct image_facts *facts);
	/* Restore the newest image with its held sockets; *pid = new root. */
	int (*restore)(const struct runtime_ctx *ctx, pid_t *pid, uint64_t *bytes_read);
	/* Remove what the runtime made for the app besides its tree (its box);
	 * the tree must be gone or going.  NULL: nothing. */
	int (*remove)(const struct runtime_ctx *ctx);
	/* The app's own box (the asleep tier puts it to sleep and holds the
	 * packets for its address, worker/asleep.c).  NULL: the runtime runs
	 * apps without one, and they never fall asleep. */
	int (*box_of)(const struct runtime_ctx *ctx, struct box *b);
};

extern const struct runtime runtime_plain;
extern const struct runtime runtime_box;

/* The runtime spec asks for. */
const struct runtime *runtime_of(const struct app_spec *spec);

/* runtime_image.c: the image workflow of both runtimes.  Dump the tree
 * (in box b, or NULL) into the store, its sockets to ctx->holder; restore
 * the newest image (into its box under ctx->box_dir). */
struct box;
int runtime_image_dump(pid_t *pid, const struct runtime_ctx *ctx, const struct box *b,
		       struct image_facts *facts);
int runtime_image_restore(const struct runtime_ctx *ctx, pid_t *pid, uint64_t *bytes_read);

#endif

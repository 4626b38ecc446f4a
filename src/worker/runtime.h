/*
 * runtime.h - the seam between the daemon and what runs an app: start the
 * app's tree, dump it (its sockets to the app's holder, its image to the
 * store) and restore it.  Each call runs inside an engine child (child.h).
 *
 * A dump goes into the store as a new generation of the app's image,
 * incremental over the generation the tree was restored from; a restore
 * is lazy from the store (only what the tree needs to resume is read, its
 * keeper serves the other pages when touched), except for an image whose
 * timers must be advanced first, which is fetched whole.
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
	const char *bridge;       /* start: the box's host bridge ("" default) */
	const char *subnet;       /* start: its subnet A.B.C.D/N ("" default) */
	const char *subnet6;      /* start: its IPv6 subnet or none ("" default) */
	int64_t stored_ms;        /* restore: time since its dump started (its
	                             wall-clock timers ran on meanwhile) */
	int advance_timers;       /* restore: the image has armed timers to
	                             advance by stored_ms (fetched whole) */
	uint64_t generation;      /* restore: the generation last stored (0: the
	                             newest, found by listing the image) */
	int verify;               /* dump: prove the image restores before the
	                             tree is killed (cr_dump_opts.verify) */
	int hold_queue;           /* box_ahead: the hold queue (box/hold.h) */
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
	/* Restore the newest image with its held sockets; *pid = new root,
	 * *mem = what the restore read (bytes from the store, prefetched pages). */
	int (*restore)(const struct runtime_ctx *ctx, pid_t *pid, struct cr_mem_stats *mem);
	/* Remove what the runtime made for the app besides its tree (its box);
	 * the tree must be gone or going.  NULL: nothing. */
	int (*remove)(const struct runtime_ctx *ctx);
	/* The app's own box (the asleep tier puts it to sleep and holds the
	 * packets for its address, worker/asleep.c).  NULL: the runtime runs
	 * apps without one, and they never fall asleep. */
	int (*box_of)(const struct runtime_ctx *ctx, struct box *b);
	/* Make the app's box from spec ahead of its image (an app revived
	 * here from an image made elsewhere): asleep, its address and
	 * published ports only, its packets held in ctx->hold_queue (armed
	 * before its ports are published) while the restore fetches the
	 * image and completes the box from it.  NULL: the runtime has no box. */
	int (*box_ahead)(const struct app_spec *spec, const struct runtime_ctx *ctx,
			 struct box *b);
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
int runtime_image_restore(const struct runtime_ctx *ctx, pid_t *pid, struct cr_mem_stats *mem);

#endif

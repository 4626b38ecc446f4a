/*
 * imagestore.h - the dump->store and store->restore workflow shared by the
 * daemon (worker/) and `picocenter cr dump|restore --store`: a dump goes
 * to a local directory (a scratch one unless the caller keeps a copy), is
 * put into the object store as image `name`, and is read back for what the
 * daemon must know about it (custody tag, earliest timer); a restore
 * fetches the newest generation into a directory and restores from it.
 */
#ifndef PC_WORKER_IMAGESTORE_H
#define PC_WORKER_IMAGESTORE_H

#include <stdint.h>
#include <sys/types.h>

#include "cr/cr.h"

/* What the daemon learns from a dump. */
struct image_facts {
	char custody_tag[64];     /* the holder's tag for this dump ("" none) */
	int64_t timer_ms;         /* earliest armed timer, ms after the dump
	                             started (-1: none) */
	uint64_t image_bytes;     /* logical size of the image */
	uint64_t bytes_written;   /* new encoded bytes written to the store */
	uint64_t generation;      /* the generation stored (0: not known) */
};

/* Dump the tree at pid into dir (NULL: a scratch directory, removed
 * afterwards), then put it into the store at url as image name (url NULL:
 * dir only).  facts may be NULL. */
int image_dump_to(pid_t pid, const char *dir, const char *url, const char *name,
		  const struct cr_dump_opts *opts, struct image_facts *facts);

/* Fetch image name from the store at url into dir (NULL: a scratch
 * directory, removed afterwards; url NULL: restore dir as it is) and
 * restore it; *pid = the restored root.  *bytes_read (may be NULL) = the
 * image's logical size fetched. */
int image_restore_from(const char *dir, const char *url, const char *name,
		       const struct cr_restore_opts *opts, pid_t *pid, uint64_t *bytes_read);

/* Put dir into the store at url as a new generation of image name (fills
 * facts->image_bytes and bytes_written when facts is not NULL). */
int image_put(const char *url, const char *name, const char *dir, struct image_facts *facts);

/* Fetch the newest generation of image name from url into dir. */
int image_fetch(const char *url, const char *name, const char *dir, uint64_t *bytes_read);

/* Let the image's wall-clock timers (timerfds, POSIX timers, ITIMER_REAL)
 * run on while it was stored: each comes back elapsed_ms closer to its
 * expiry (an expiry already past fires at once).  Rewrites DIR/manifest. */
int image_advance_timers(const char *dir, int64_t elapsed_ms);

/* The facts of the image in dir (custody tag, earliest timer). */
int image_facts_read(const char *dir, struct image_facts *facts);

#endif

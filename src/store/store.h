/*
 * store.h - the object store: checkpoint images kept as content-addressed
 * chunks plus one manifest per committed generation.  See docs/store.md.
 *
 * An image is a directory of regular files (DIR/manifest, DIR/pages, ...).
 * store_put_image() cuts every file into content-defined chunks, stores the
 * chunks the store does not have yet and commits a new generation of the
 * image by writing its manifest last, atomically and only if no other writer
 * committed that generation first.  store_get_image() fetches the newest
 * generation into a directory, verifying every chunk's hash.
 *
 * All functions return 0 on success and -1 on failure with err_msg() set.
 */
#ifndef PC_STORE_STORE_H
#define PC_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct store;

#define STORE_DEFAULT_URL "file:///var/lib/picocenter/store"
/* GC keeps unreferenced chunks younger than this (seconds). */
#define STORE_GC_GRACE_DEFAULT 3600
/* A put must commit within this many seconds of starting, else it fails
 * (see the GC rule in docs/store.md: grace >= REUSE_AGE + COMMIT_DEADLINE). */
#define STORE_COMMIT_DEADLINE 1200
/* An existing chunk this young is reused as is by a put; an older one not
 * named by the generation the put builds on is refreshed first. */
#define STORE_REUSE_AGE 1200
/* put keeps this many newest generations of an image; older ones go. */
#define STORE_KEEP_GENERATIONS 2

/* Open a store by URL: file:///abs/path or s3://bucket/prefix. */
int store_open(const char *url, struct store **out);
/* Same, with a local LRU cache of chunks in cache_dir, at most cache_max
 * bytes, in front of the store. */
int store_open_cached(const char *url, const char *cache_dir,
		      uint64_t cache_max, struct store **out);
void store_close(struct store *s);

/* The file of an image stored by pages (docs/store.md, "Pages"), when it
 * is a whole number of pages: the engine's memory. */
#define STORE_PAGED_FILE "pages"

struct store_range;

struct store_put_opts {
	/* Commit only on top of this generation (0: on top of whatever is
	 * newest when the put starts).  A writer that restored generation N
	 * passes N so that it cannot overwrite someone else's newer image. */
	uint64_t parent;
	int has_parent;
	/* Incremental: file base_file of the new generation is the same file
	 * of generation `parent` (base_len bytes, its whole size: its chunks
	 * are referenced, not read) followed by dir/base_file. */
	const char *base_file;
	uint64_t base_len;
	/* Byte ranges of STORE_PAGED_FILE that a restore needs before the
	 * tree resumes: the manifest says where their pages lie, so that a
	 * restore reads them with the small files, in one batch. */
	const struct store_range *hint;
	size_t nhint;
	/* Once committed, keep the new generation's manifest and small files
	 * (its page index included) in local_dir/NAME.copy for the next
	 * restore on this machine (NULL: none; docs/store.md, "Local copy"). */
	const char *local_dir;
};

struct store_put_stats {
	uint64_t generation;          /* the generation committed */
	uint64_t files;
	uint64_t logical_bytes;       /* sum of file sizes */
	uint64_t chunks;              /* chunk references in the manifest */
	uint64_t chunks_new;          /* chunks written to the store */
	uint64_t bytes_new;           /* encoded bytes written: chunks and packs */
	uint64_t pages;               /* pages of paged files stored from dir */
	uint64_t pages_new;           /* ... not in the parent: packed, written */
	uint64_t packs_new;           /* pack objects written */
	uint64_t pack_bytes_new;      /* their bytes (part of bytes_new) */
	uint64_t chunks_rewritten;    /* existing chunks written again (GC rule) */
	uint64_t manifest_bytes;
	int local_copy;               /* 1 kept, -1 could not be (harmless) */
};

/* Store every regular file of dir as a new generation of image `name`.
 * Fails with a message containing "conflict" when another writer committed
 * the generation first. opts and st may be NULL. */
int store_put_image(struct store *s, const char *name, const char *dir,
		    const struct store_put_opts *opts, struct store_put_stats *st);

struct store_get_stats {
	uint64_t generation;
	uint64_t files;
	uint64_t logical_bytes;
	uint64_t chunks;
};
/* Fetch the newest generation (or `gen` if nonzero) of image `name` into
 * dir (created if needed); each file is replaced atomically. */
int store_get_image(struct store *s, const char *name, uint64_t gen,
		    const char *dir, struct store_get_stats *st);

/* Remove every generation of image `name` (oldest first; each removal is
 * printed to out if not NULL).  Its chunks go at the next gc.  Fails with
 * "no such image" when there is none; *removed says how many went. */
int store_rm_image(struct store *s, const char *name, FILE *out, uint64_t *removed);

/* Operator commands: print a report to out. */
int store_ls(struct store *s, FILE *out);
int store_du(struct store *s, FILE *out);
/* Returns 0 when every chunk of every committed manifest is present and
 * hash-correct, 1 when not (each bad chunk named on out), -1 on error. */
int store_fsck(struct store *s, FILE *out);
struct store_gc_stats {             /* chunks_*: chunk and pack objects */
	uint64_t chunks_total;
	uint64_t chunks_referenced;
	uint64_t chunks_deleted;      /* or that would be, with dry_run */
	uint64_t bytes_deleted;       /* chunks and temporary files */
	uint64_t chunks_young;        /* unreferenced but within the grace */
	uint64_t tmp_deleted;         /* crashed writers' temporary files */
};
int store_gc(struct store *s, int64_t grace_s, int dry_run, FILE *out,
	     struct store_gc_stats *st);

/* Counters of the local cache (all zero without one). */
struct store_cache_stats {
	uint64_t hits, misses, evictions;
	uint64_t hit_bytes;           /* encoded bytes served from the cache */
	uint64_t bytes;               /* bytes held in the cache now */
	uint64_t max_bytes;
};
void store_cache_stats(struct store *s, struct store_cache_stats *st);

/* For `cr dump/restore --store`: a fresh private directory under $TMPDIR
 * (default /var/tmp) for an image in transit, and its removal (the files
 * directly in it, then the directory). */
int store_scratch_dir(char *buf, size_t len);
void store_remove_dir(const char *dir);

/* ---- one file of an image read on demand (lazy restore, lazyfile.c) ----
 * store_get_lazy() fetches every file of a generation but `lazy_file` into
 * dir and opens lazy_file for reads by range: its bytes sit in a private
 * mapping of the file's size where only fetched chunks take memory.
 * store_lazy_fetch() makes ranges readable: the chunks they touch that are
 * not in yet are fetched in one parallel batch, hash-checked (a bad chunk
 * is an error, never data) and copied in.  A failing store is retried
 * until timeout_ms.  Thread-safe. */
struct store_lazy;
struct store_range {
	uint64_t off, len;
};
struct store_lazy_stats {
	uint64_t generation;
	uint64_t file_bytes;          /* size of the lazy file */
	uint64_t chunks, chunks_in;   /* its chunks; how many are in */
	uint64_t plain_in;            /* plain bytes in */
	uint64_t bytes_store;         /* encoded bytes read from the store */
	uint64_t bytes_cache;         /* ... and from the local cache */
	uint64_t bytes_local;         /* bytes of the local copy read (its length) */
	uint64_t requests;            /* batches fetched */
	uint64_t retries;             /* batches retried after a store failure */
	uint64_t chunks_dropped;      /* given back (store_lazy_drop) */
	int local_copy;               /* STORE_LOCAL_*: how the small files came */
	char local_why[256];          /* STORE_LOCAL_REJECTED: why */
};
#define STORE_LOCAL_NONE 0            /* from the store (no copy for that generation) */
#define STORE_LOCAL_USED 1            /* from the local copy: no manifest read */
#define STORE_LOCAL_REJECTED 2        /* a copy failed its checks: from the store */
/* How store_get_lazy_with() opens a file. */
struct store_lazy_opts {
	uint64_t generation;          /* 0: the newest (a list first) */
	const char *local_dir;        /* a local copy of the generation is used
					 * from here (store_put_opts.local_dir) */
	int unhinted;                 /* without the pages due first */
	const char *defer;            /* a file left out (NULL: none), brought
					 * by store_lazy_get_deferred if needed */
};
int store_get_lazy(struct store *s, const char *name, uint64_t gen, const char *dir,
		   const char *lazy_file, struct store_lazy **out);
/* The same without the pages due first (a restore without the ActiveSet). */
int store_get_lazy_unhinted(struct store *s, const char *name, uint64_t gen,
			    const char *dir, const char *lazy_file, struct store_lazy **out);
/* The same with options (opts may be NULL: the newest generation, hinted). */
int store_get_lazy_with(struct store *s, const char *name, const char *dir,
			const char *lazy_file, const struct store_lazy_opts *opts,
			struct store_lazy **out);
/* Every file of a generation but skip into dir, nothing else (the small
 * files of an image just stored, say). */
int store_get_small_files(struct store *s, const char *name, uint64_t gen, const char *dir,
			  const char *skip);
/* The file the options deferred, into dir (as the open put the others);
 * 0 also when there is none, or the image has no such file. */
int store_lazy_get_deferred(struct store_lazy *l, const char *dir);
const uint8_t *store_lazy_data(const struct store_lazy *l);
uint64_t store_lazy_size(const struct store_lazy *l);
int store_lazy_fetch(struct store_lazy *l, const struct store_range *r, size_t n,
		     int timeout_ms);
/* Give back the memory of the chunks wholly inside [off, off+len) (the
 * pages inside them; they are fetched again if asked for). */
void store_lazy_drop(struct store_lazy *l, uint64_t off, uint64_t len);
/* 1 if every byte of [off, off+len) is in. */
int store_lazy_has(struct store_lazy *l, uint64_t off, uint64_t len);
void store_lazy_get_stats(struct store_lazy *l, struct store_lazy_stats *st);
/* Free l (its mapping included); the store stays open. */
void store_lazy_close(struct store_lazy *l);

#endif

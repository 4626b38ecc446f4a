/*
 * cr.h - the checkpoint/restore engine's entry points.
 *
 * A tree is checkpointed whole: its root must be the init of a PID
 * namespace that cr_spawn() or cr_restore() created.  See
 * ../shared/DESIGN.md (technique) and docs/image-format.md (the image).
 */
#ifndef PC_CR_CR_H
#define PC_CR_CR_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct box;

struct cr_spawn_opts {
	const char *log;          /* stdout+stderr appended here; NULL: /dev/null */
	const struct box *box;    /* run in this box (box/box.h); NULL: on the host */
	char *const *env;         /* K=V added to the environment (NULL-ended) */
	const char *workdir;      /* chdir here before exec */
	int set_user;             /* run as uid:gid, with no supplementary groups */
	uid_t uid;
	gid_t gid;
	int init;                 /* pid 1 is picocenter-init, the command its
	                             child (src/init/init.c); a box needs
	                             box_config.init */
};

struct cr_dump_opts {
	int leave_running;        /* keep the tree running after a good dump */
	const char *keep_listeners; /* listener custody: holder socket, or NULL */
	int verify;               /* prove the image restores (cr_verify) before
				     the tree is killed; else the dump fails */
	const struct box *box;    /* the tree's box: frozen while it is seized,
	                             named in the image; NULL: none */
	/* Pages as a lazy restore from the store put them are referenced in
	 * the generation it came from, not read (dir/.pages-base names it;
	 * cr_dump_to_store sets this). */
	int incremental;
	int full;                 /* cr_dump_to_store: never incremental (a full
				     image again, the ActiveSet laid out first) */
	const char *cache_dir;    /* cr_dump_to_store: keep the chunks written in
				     this local cache too (NULL: none) ... */
	uint64_t cache_max;       /* ... of at most this many bytes */
	const char *local_dir;    /* cr_dump_to_store: keep a local copy of the
				     new generation's manifest and small files
				     here, for the next restore (NULL: none) */
	/* Called with DIR while the tree is still stopped, after the image
	 * is written (and verified), before any socket is handed over or the
	 * tree killed: where the image must be put away first (the store).
	 * Its failure fails the dump, and the tree runs on. */
	int (*commit)(const char *dir, void *arg);
	void *commit_arg;
};

struct cr_restore_opts {
	const char *listeners;    /* take held sockets from this holder socket */
	int eager;                /* write all memory before resuming (no lazy) */
	const char *box_dir;      /* where an image's box is found (NULL: default) */
	/* From the store (cr_restore_from_store): */
	int fill;                 /* bring every page in, in the background */
	const char *log;          /* the page server's failures appended here */
	const char *cache_dir;    /* local chunk cache (NULL: none) ... */
	uint64_t cache_max;       /* ... of at most this many bytes */
	int store_timeout_ms;     /* store unreachable that long: tree killed
				     (0: CR_STORE_TIMEOUT_MS) */
	int no_activeset;         /* ignore the image's ActiveSet (benchmarks) */
	uint64_t generation;      /* this generation (0: the newest; a caller
				     that knows it saves listing the image) */
	const char *local_dir;    /* the local copy a dump kept (cr_dump_opts):
				     used if it holds `generation` */
};

#define CR_STORE_TIMEOUT_MS 30000

/* Counters of a restore from the store (and of its page server since). */
struct cr_mem_stats {
	uint64_t generation;          /* the image generation restored */
	uint64_t bytes_store;         /* encoded bytes read from the store */
	uint64_t bytes_cache;         /* ... and from the local chunk cache */
	uint64_t pages_prefetched;    /* ActiveSet pages installed before resume */
	uint64_t prefetched_touched;  /* ... of them seen used (at the last dump) */
	uint64_t probes;              /* ActiveSet pages left to fault (probes) */
	uint64_t faults;              /* page faults served */
	uint64_t faults_after_resume;
	uint64_t pages_due;           /* pages of the image not in yet */
	uint64_t rss_kb;              /* resident memory of the tree now */
	uint64_t local_copy;          /* STORE_LOCAL_*: 1 the small files came
					 from the local copy, 2 it was rejected */
	uint64_t bytes_local;         /* bytes of the local copy read instead of
					 the store (used: its length) */
};

struct cr_dump_stats {
	uint64_t generation;          /* the generation committed */
	uint64_t bytes_new;           /* encoded bytes written to the store */
	uint64_t chunks_new;
	uint64_t logical_bytes;       /* bytes of the image */
	uint64_t pages_new;           /* memory pages not in the store before */
	uint64_t pack_bytes_new;      /* their encoded bytes (part of bytes_new) */
};

/* Start argv[0] as pid 1 of new PID and mount namespaces; *pid = host pid. */
int cr_spawn(char *const argv[], const struct cr_spawn_opts *opts, pid_t *pid);
/* Checkpoint the tree rooted at pid into the empty (or absent) dir. */
int cr_dump(pid_t pid, const char *dir, const struct cr_dump_opts *opts);
/* Restore the image in dir; *pid = host pid of the restored root. */
int cr_restore(const char *dir, pid_t *pid);
/* The same with options (listener custody, see custody.h). */
int cr_restore_with(const char *dir, const struct cr_restore_opts *opts, pid_t *pid);
/* Restore the image in dir into a trial tree in a network namespace of
 * its own, never resumed, then killed: 0 if the image restores here.
 * box_dir: where the image's box is (NULL: the default). */
int cr_verify(const char *dir, const char *box_dir);
/* Restore image `image` from the store at url (file:// or s3://): only the
 * manifest and what must be written before the tree resumes are read, the
 * image's ActiveSet is installed, and every other page comes from the store
 * when touched (opts->fill: in the background; opts->eager: all before
 * resuming).  st (may be NULL): counters as the tree resumes. */
int cr_restore_from_store(const char *url, const char *image,
			  const struct cr_restore_opts *opts, pid_t *pid,
			  struct cr_mem_stats *st);
/* Checkpoint the tree rooted at pid into a new generation of `image` in
 * the store (on top of the generation it was restored from, if it was),
 * with the ActiveSet recorded since its restore.  st may be NULL. */
int cr_dump_to_store(pid_t pid, const char *url, const char *image,
		     const struct cr_dump_opts *opts, struct cr_dump_stats *st);
/* Counters of the page server of the tree rooted at pid, and its resident
 * memory.  1 (and only rss_kb) when the tree has no page server. */
int cr_mem_stats(pid_t pid, struct cr_mem_stats *st);

/* Hold sockets for dumps and restores at path until SIGINT/SIGTERM. */
int cr_hold(const char *path);

/* Print a summary of the image in dir. */
int cr_inspect(const char *dir, FILE *out);

#endif

/*
 * cr.h - the checkpoint/restore engine's entry points.
 *
 * A tree is checkpointed whole: its root must be the init of a PID
 * namespace that cr_spawn() or cr_restore() created.  See
 * ../shared/DESIGN.md (technique) and docs/image-format.md (the image).
 */
#ifndef PC_CR_CR_H
#define PC_CR_CR_H

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
};

struct cr_dump_opts {
	int leave_running;        /* keep the tree running after a good dump */
	const char *keep_listeners; /* listener custody: holder socket, or NULL */
	int verify;               /* prove the image restores (cr_verify) before
				     the tree is killed; else the dump fails */
	const struct box *box;    /* the tree's box: frozen while it is seized,
	                             named in the image; NULL: none */
};

struct cr_restore_opts {
	const char *listeners;    /* take held sockets from this holder socket */
	int eager;                /* write all memory before resuming (no lazy) */
	const char *box_dir;      /* where an image's box is found (NULL: default) */
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
/* Hold sockets for dumps and restores at path until SIGINT/SIGTERM. */
int cr_hold(const char *path);

/* Print a summary of the image in dir. */
int cr_inspect(const char *dir, FILE *out);

#endif

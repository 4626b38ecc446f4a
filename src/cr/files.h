/*
 * files.h - the file-descriptor subsystem of checkpoint/restore: the
 * contract between the framework (dump_files.c, restore_files.c) and the
 * kinds (file_<kind>.c).
 *
 * MODEL (image.h).  The image holds one struct cr_file per open file
 * description of the whole tree, and each process a sorted list of
 * struct cr_fd { fd, file (index into img->files), cloexec }.  Two fds, in
 * the same or different processes, point to the same cr_file iff they
 * share the kernel's struct file (dup, fork, SCM_RIGHTS): the dumper
 * compares fds whose /proc/PID/fd/N has the same (st_dev, st_ino) with
 * kcmp(KCMP_FILE).  Common fields of a cr_file, filled by the framework:
 * kind, flags (status flags from fdinfo: access mode, O_APPEND,
 * O_NONBLOCK, O_ASYNC...), pos (fdinfo), owner_type/owner (F_GETOWN_EX, as
 * a pid of the tree's namespace) and sig (F_GETSIG).  Per-kind state lives
 * in the kind's member of the union (serialized by image_codec.c from a table of
 * fields: add yours to file_tail() there), path, laddr/raddr (socket
 * addresses), peer (another file's index), obj (identity of a kernel object
 * several descriptions share, e.g. a pipe inode), data[] (blobs: pipe
 * content, queued messages, an unlinked file's content; put large queues
 * here rather than in new pointers) and ents[] (epoll registrations,
 * inotify watches).  image_check.c validates every field of every kind.
 *
 * ADDING A KIND: write src/cr/file_<kind>.c with a `const struct file_ops`
 * and list it in file_kinds[] (file_ops.c).  Then:
 *
 * DUMP (in the dumper, the tree seized).  For every fd of every process,
 * the framework stats /proc/PID/fd/N, takes a duplicate with pidfd_getfd
 * and asks each kind's match() in file_kinds[] order whether it handles
 * it; the first that says yes has its dump() called once per open file
 * description (later fds sharing it only add a cr_fd).  No kind matching is
 * an error "pid 7 fd 3: unsupported anon_inode:[io_uring]"; a kind may
 * itself fail with a message naming what it cannot carry.  Any failure
 * fails the dump and the tree keeps running.  After every process is
 * read, link() (optional) runs once per file of the kind: the place to
 * resolve references between files (socket peers by inode, one pipe's
 * data kept on one of its ends).  The dup is closed by the framework after
 * the whole dump (a kind may keep using it in link()).
 *
 * RESTORE (in the restorer, before the tree is forked).  For each file in
 * index order whose fd is still unset, open() creates the kernel object
 * and returns an fd (close-on-exec, any number).  It may create other
 * files at the same time (both ends of a socketpair, every end of a pipe)
 * by calling files_set_fd() for them.  The framework then sets the status
 * flags (F_SETFL) and F_SETSIG.  When every file exists, settle()
 * (optional) runs once per file: fill queues, connect to a peer created
 * later.  Each file's fd is then moved to its service fd number
 * (svc_cfile_fd in restore_ctx.h) and the tree forked; each process dup3()s
 * the service fds of its files to its own fd numbers with its cloexec
 * flags, then runs install() (optional) for each file it is the first
 * process to hold, with all its fds in place (epoll registrations need
 * the targets' fd numbers).  F_SETOWN_EX is set by the restorer once the
 * tree exists (it names pids of the tree).  Service fds are closed before
 * the processes resume.  A shared description thus stays shared, with one
 * offset.  Any failure fails the whole restore; unlink paths you created
 * for it through files_created() so nothing is left half-restored.
 */
#ifndef PC_CR_FILES_H
#define PC_CR_FILES_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "cr/image.h"

/* What the dumper knows about one fd of one process. */
struct fd_dump {
	pid_t host_pid;                /* the process, as the dumper sees it */
	pid_t pid;                     /* the same in the tree's namespace */
	int fd;                        /* its fd number there */
	int dup;                       /* our duplicate (pidfd_getfd) */
	const char *link;              /* readlink /proc/PID/fd/N */
	const char *fdinfo;            /* the text of /proc/PID/fdinfo/N */
	struct stat st;                /* stat /proc/PID/fd/N */
	const char *cwd;               /* the process's cwd (relative names) */
	const char *root;              /* the process's root (chrooted names) */
	int root_fd;                   /* where its paths resolve (rootpath.h):
	                                  the box's root, or -1 for the host's */
	const struct box *box;         /* the tree's box (box/box.h), or NULL */
};

struct dump_files;                   /* dump_files.c */
struct rst_files;                    /* restore_files.c */

struct file_ops {
	uint32_t kind;                 /* enum cr_file_kind */
	const char *name;              /* "regular file", "unix socket"... */
	/* Does this kind handle d?  (Pure: no side effects.) */
	int (*match)(const struct fd_dump *d);
	/* Fill the kind's state of f (common fields are already set). */
	int (*dump)(struct dump_files *df, const struct fd_dump *d, struct cr_file *f);
	/* Optional, after every file is known: resolve cross references. */
	int (*link)(struct dump_files *df, uint32_t id);
	/* Create the object of file id; return its fd or -1 (err_set). */
	int (*open)(struct rst_files *rf, uint32_t id);
	/* Optional: once every file of the image exists. */
	int (*settle)(struct rst_files *rf, uint32_t id);
	/* Optional, in the restored process p with all its fds in place. */
	int (*install)(const struct cr_image *img, uint32_t id, const struct cr_proc *p);
};

/* file_ops.c: every kind, and the ops of one. */
extern const struct file_ops *const file_kinds[];
const struct file_ops *file_ops_of(uint32_t kind);

/* ---- dump side (dump_files.c) ---- */

/* The image being filled. */
struct cr_image *files_image(struct dump_files *df);
/* The file whose inode is (dev, ino) and whose kind is kind; CR_FILE_NONE
 * if none.  Only inodes the framework has seen (every fd's). */
uint32_t files_find_inode(const struct dump_files *df, uint32_t kind, uint64_t dev,
			  uint64_t ino);
/* The dump's network lock (netlock.h). */
struct netlock *files_netlock(const struct dump_files *df);
/* The dumper's duplicate of file id (valid until the dump ends). */
int files_dup(const struct dump_files *df, uint32_t id);
/* One "pid P fd N" that holds file id, for messages. */
void files_where(const struct dump_files *df, uint32_t id, pid_t *pid, int *fd);
/* The dump's listener custody tag (0: none): the kinds mark the sockets
 * custody keeps with it (custody_files.h). */
uint64_t files_custody_tag(const struct dump_files *df);
/* Is host pid (or tid) a task of the tree?  *ns gets its pid there. */
int files_tree_pid(const struct dump_files *df, pid_t host, int32_t *ns);
/* After the memory dump (shared objects numbered): a removed file that is
 * a shared object of the image gets its index in obj (file_reg.c). */
void files_reg_shmem(struct cr_image *img);
/* Append a blob (copied) to f->data. */
int files_add_data(struct cr_file *f, const void *buf, uint64_t len);
/* The value of "key:" in an fdinfo text (first occurrence), or NULL. */
const char *files_fdinfo_field(const char *fdinfo, const char *key);

/* ---- restore side (restore_files.c) ---- */

const struct cr_image *files_rimage(const struct rst_files *rf);
/* A trial restore (cr_verify) while the dumped tree still lives: names the
 * live tree holds are not taken from it (see file_unix.c). */
int files_verifying(const struct rst_files *rf);
/* The restorer's fd of file id (-1 if not created yet). */
int files_get_fd(const struct rst_files *rf, uint32_t id);
/* Record the fd of file id, created by another file's open(). */
void files_set_fd(struct rst_files *rf, uint32_t id, int fd);
/* A kind-private int per file, -1 initially (the kind cleans it up). */
int *files_aux(struct rst_files *rf, uint32_t id);
/* Remember a path created for the restore: removed if it fails. */
int files_created(struct rst_files *rf, const char *path);
/* Reopen fd through /proc/self/fd with flags (a new description of the
 * same object: to get an exact access mode); returns the new fd. */
int files_reopen(int fd, int flags);
/* The tree's new IPC namespace (sysv_ipc.h), or -1 when the tree uses the
 * restorer's: a kind whose objects live in it joins it to create them. */
int files_ipc_ns(const struct rst_files *rf);
/* The directory the image's paths resolve in (rootpath.h): the box's
 * root, or -1 for the host's. */
int files_root(const struct rst_files *rf);
/* Listener custody (custody_files.h): the socket the holder kept for file
 * id, duplicated into *fd; *fd = -1 when none is held (make a new one).
 * Whether file id is such a socket. */
int files_custody_fd(const struct rst_files *rf, uint32_t id, int *fd);
int files_in_custody(const struct rst_files *rf, uint32_t id);
/* The restorer's fd of shared memory object i (made before the files). */
int files_shmem_fd(const struct rst_files *rf, uint32_t i);
/* The fd number in p of file id, -1 if p does not hold it. */
int files_fd_in(const struct cr_proc *p, uint32_t id);

#endif

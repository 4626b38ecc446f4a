/*
 * proc.h - the /proc readers the dumper uses on a stopped process tree.
 *
 * Every reader takes host pids/tids (as the dumper's /proc shows them) and
 * fills image structures with pids as seen inside the tree's own PID
 * namespace.  All return 0, or -1 with an err_set()/err_sys() message that
 * names the pid and the /proc file, e.g.
 * "pid 12: /proc/12/smaps line 40: bad range".  On error nothing stays
 * allocated.  The tree's root is the init (pid 1) of its PID namespace.
 *
 * Code: proc.c (file helpers, tree, threads, pid translation),
 * proc_task.c (proc_read_proc, proc_read_thread), proc_vma.c (smaps),
 * proc_fd.c (fds and POSIX timers).
 */
#ifndef PC_CR_PROC_H
#define PC_CR_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cr/image.h"

/*
 * Every process in init's PID namespace (same /proc/PID/ns/pid inode as
 * init), zombies included, as host pids, parents before children, init
 * first.  A process in a nested PID namespace below init's is an error.
 * *host_pids is malloc'd; free() it.
 */
int proc_tree_list(pid_t init, pid_t **host_pids, size_t *n);

/* Host tids of a process from /proc/PID/task, the leader first. free() it. */
int proc_threads(pid_t host_pid, pid_t **tids, size_t *n);

/* The pid (or tid) as seen inside its innermost PID namespace: the last
 * field of NSpid: in /proc/ID/status. */
int proc_ns_pid(pid_t host_id, pid_t *ns_pid);
/* host_id's process group or session ("NSpgid", "NSsid") in its own pid
 * namespace, its leader alive or not: 0 if it is outside the namespace. */
int proc_ns_leader(pid_t host_id, const char *key, pid_t *ns_id);

/*
 * Fill from /proc/PID/{stat,status,limits,auxv,personality,cwd,root,exe,
 * comm}: pid, ppid, pgid, sid (ns pids; init's ppid is 0), zombie,
 * exit_code, exit_signal, comm, umask, personality, cwd, root, creds
 * (securebits: 0, not in /proc), rlimits, mm (brk: 0, not in /proc).
 * For a zombie only the ids, zombie, exit_code, exit_signal and comm are
 * filled.  Other fields of *p are not touched.  Allocates p->cwd, p->root
 * and p->mm.exe_path: release with proc_free_proc_paths() (or
 * cr_image_free() once p is in an image).
 */
int proc_read_proc(pid_t host_pid, struct cr_proc *p);
/* Check that the path the image keeps for pid's root or cwd ("root",
 * "cwd") names that very directory, resolved in root_fd (-1: here). */
int proc_check_dir(pid_t pid, const char *name, const char *path, int root_fd);
void proc_free_proc_paths(struct cr_proc *p);

/* t->tid (ns tid) and t->comm from /proc/PID/task/TID/comm. */
int proc_read_thread(pid_t host_pid, pid_t host_tid, struct cr_thread *t);

/*
 * /proc/PID/smaps as cr_vma[] sorted by start: start, end, prot, flags,
 * kind, and for FILE/FILE_SHARED/SHMEM dev, ino, file_size, file_mtime_ns
 * and pgoff; path for FILE and FILE_SHARED.  shmem_id and runs are left
 * empty.  Release with proc_free_vmas().
 */
int proc_read_vmas(pid_t host_pid, struct cr_vma **vmas, uint32_t *n);
/* What a user can do about an object the dump does not carry, named as a
 * mapping or fd link shows it (" (io_uring is not carried: ...)"), or "". */
const char *proc_unsupported_hint(const char *name);
void proc_free_vmas(struct cr_vma *v, uint32_t n);

/*
 * POSIX timers from /proc/PID/timers sorted by id: id, clock, notify,
 * signo, sigval, notify_tid (ns tid, SIGEV_THREAD_ID only).  interval_ns
 * and value_ns are left 0 (the dumper reads them).  free() it.
 */
int proc_read_timers(pid_t host_pid, struct cr_posix_timer **timers, uint32_t *n);

/* One open fd as /proc shows it. */
struct proc_fd {
	int fd;
	uint32_t flags;       /* fdinfo flags: without O_CLOEXEC */
	uint32_t cloexec;
	uint64_t pos;
	char *link;           /* readlink /proc/PID/fd/N: "/path", "pipe:[12]"... */
	char *fdinfo;         /* the whole /proc/PID/fdinfo/N text */
};

/*
 * Open fds sorted by fd, as /proc shows them (dump_files.c classifies
 * them).  Release with proc_free_fds().
 */
int proc_read_fds(pid_t host_pid, struct proc_fd **fds, uint32_t *n);
/* The same with fd and link only (no fdinfo read). */
int proc_read_fd_links(pid_t host_pid, struct proc_fd **fds, uint32_t *n);
void proc_free_fds(struct proc_fd *f, uint32_t n);

/*
 * Helpers shared by proc*.c (usable by anyone reading /proc).
 */

/* Read a whole file (any size up to 1 GiB) into a NUL-terminated malloc'd
 * buffer; *len excludes the NUL.  name is an absolute path or a path
 * relative to /proc/PID/ ("status", "task/12/comm").  Errors name pid and
 * path. */
int proc_slurp(pid_t pid, const char *name, char **buf, size_t *len);
/* readlink() into a malloc'd string of any length; name as for proc_slurp. */
int proc_readlink(pid_t pid, const char *name, char **target);
/* Cut the next line off *cur (NULL at the end); the '\n' becomes '\0'. */
char *proc_next_line(char **cur);
/* Parse an unsigned number in base 8, 10 or 16 ("0x" not accepted) that
 * spans s up to *end (or the whole string when end is NULL). */
int proc_parse_u64(const char *s, int base, uint64_t *v, char **end);
/* Same for a signed 64-bit value in base 10. */
int proc_parse_i64(const char *s, int64_t *v, char **end);
/* The value of line "key:" of /proc/PID/status, leading blanks removed,
 * cut to fit out. */
int proc_status_field(pid_t pid, const char *key, char *out, size_t len);
/* Identity (st_dev, st_ino) of a process's PID namespace. */
int proc_pidns_id(pid_t pid, uint64_t *dev, uint64_t *ino);

#endif

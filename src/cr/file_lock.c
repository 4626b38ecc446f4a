/*
 * file_lock.c - the file locks of a process (see file_lock.h).
 *
 * The kernel lists the locks set through an fd in /proc/PID/fdinfo/N, one
 * "lock:" line each, as /proc/locks does:
 *
 *   lock:	1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF
 *   lock:	1: POSIX  ADVISORY  READ 1234 08:01:5678 10 19
 *   lock:	1: OFDLCK ADVISORY  WRITE -1 08:01:5678 0 EOF
 *
 * (kind, type, owner pid, device:inode, first byte, last byte or EOF).  A
 * POSIX lock shows on the fd it was set through, and only to its own
 * process; a flock or OFD lock on every fd of its open file description,
 * so it is recorded once per description and process.  Leases (LEASE) are
 * refused.  At restore each lock is taken again by the process itself
 * through an injected flock or fcntl, non-blocking: the trial restore
 * (cr verify) takes none, the live tree still holding them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>

#include "common/err.h"
#include "cr/file_lock.h"
#include "cr/image.h"
#include "cr/proc.h"
#include "cr/restore_ctx.h"

static const char *kind_name(uint32_t kind)
{
	return kind == CR_LOCK_FLOCK ? "flock" : kind == CR_LOCK_POSIX ? "POSIX lock"
									 : "OFD lock";
}

/* CR_LOCK_* of the kind /proc names, 0 for another (a lease). */
static uint32_t kind_of(const char *name)
{
	static const struct { const char *name; uint32_t kind; } kinds[] = {
		{ "FLOCK", CR_LOCK_FLOCK }, { "POSIX", CR_LOCK_POSIX }, { "OFDLCK", CR_LOCK_OFD },
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(name, kinds[i].name))
			return kinds[i].kind;
	return 0;
}

/* One "lock:" line into *l; *skip when it is nothing to carry. */
static int parse_lock(const char *line, struct cr_lock *l, int *skip)
{
	char kind[16], mode[16], type[16], end[32];
	long long start, last;
	int pid;

	*skip = 0;
	if (sscanf(line, "lock:\t%*d: %15s %15s %15s %d %*s %lld %31s", kind, mode, type, &pid,
		   &start, end) != 6 || start < 0)
		return err_set("unreadable lock \"%.80s\"", line);
	if (!strcmp(kind, "ACCESS")) {
		*skip = 1;      /* a passing check, not a lock */
		return 0;
	}
	l->kind = kind_of(kind);
	if (!l->kind)
		return err_set("%s file lock (unsupported)", kind);
	if (strcmp(type, "WRITE") && strcmp(type, "READ"))
		return err_set("%s in state %s (unsupported)", kind_name(l->kind), type);
	l->write = !strcmp(type, "WRITE");
	l->start = (uint64_t)start;
	l->len = 0;
	if (strcmp(end, "EOF")) {
		if (sscanf(end, "%lld", &last) != 1 || last < start)
			return err_set("unreadable lock range \"%.80s\"", line);
		l->len = (uint64_t)(last - start + 1);
	}
	if (l->kind == CR_LOCK_FLOCK)
		l->start = l->len = 0;
	return 0;
}

/* A flock or OFD lock already recorded through another fd of the same
 * open file description. */
static int seen(const struct cr_proc *p, uint32_t file, const struct cr_lock *l)
{
	for (uint32_t i = 0; i < p->nr_locks; i++) {
		const struct cr_lock *o = &p->locks[i];

		for (uint32_t k = 0; o->kind == l->kind && l->kind != CR_LOCK_POSIX &&
				     k < p->nr_fds; k++)
			if (p->fds[k].fd == o->fd && p->fds[k].file == file &&
			    o->start == l->start && o->len == l->len)
				return 1;
	}
	return 0;
}

static int add_lock(struct cr_proc *p, const struct cr_lock *l)
{
	struct cr_lock *g;

	if (p->nr_locks >= CR_MAX_LOCKS)
		return err_set("more than %d file locks", CR_MAX_LOCKS);
	g = realloc(p->locks, (p->nr_locks + 1) * sizeof(*g));
	if (!g)
		return err_set("out of memory");
	p->locks = g;
	p->locks[p->nr_locks++] = *l;
	return 0;
}

static int dump_fd_locks(struct cr_proc *p, const struct cr_fd *fd, const char *fdinfo)
{
	for (const char *at = strstr(fdinfo, "\nlock:\t"); at; at = strstr(at + 1, "\nlock:\t")) {
		struct cr_lock l = { .fd = fd->fd };
		int skip;

		if (parse_lock(at + 1, &l, &skip) < 0)
			return err_wrap("pid %d fd %d", p->pid, fd->fd);
		if (!skip && !seen(p, fd->file, &l) && add_lock(p, &l) < 0)
			return -1;
	}
	return 0;
}

int lock_dump(struct cr_proc *p, const struct proc_fd *pf, uint32_t n)
{
	for (uint32_t i = 0; i < n && i < p->nr_fds; i++)
		if (pf[i].fdinfo && dump_fd_locks(p, &p->fds[i], pf[i].fdinfo) < 0)
			return -1;
	return 0;
}

static int take_lock(struct rst_proc *rp, const struct cr_lock *l)
{
	uint64_t at = inj_data(&rp->inj, 0);
	struct flock fl = { .l_type = l->write ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET,
			    .l_start = (off_t)l->start, .l_len = (off_t)l->len };
	char what[96];

	snprintf(what, sizeof(what), "fd %d: %s %s %llu+%llu", l->fd, l->write ? "write" : "read",
		 kind_name(l->kind), (unsigned long long)l->start, (unsigned long long)l->len);
	if (l->kind == CR_LOCK_FLOCK)
		return inj_call(&rp->inj, rp->host_tids[0], what, SYS_flock, (uint64_t)l->fd,
				(uint64_t)((l->write ? LOCK_EX : LOCK_SH) | LOCK_NB), 0, 0, 0, 0,
				NULL);
	if (inj_write(&rp->inj, at, &fl, sizeof(fl)) < 0)
		return -1;
	return inj_call(&rp->inj, rp->host_tids[0], what, SYS_fcntl, (uint64_t)l->fd,
			(uint64_t)(l->kind == CR_LOCK_POSIX ? F_SETLK : F_OFD_SETLK), at, 0, 0, 0,
			NULL);
}

int lock_restore(struct rst_proc *rp)
{
	for (uint32_t i = 0; i < rp->p->nr_locks; i++)
		if (take_lock(rp, &rp->p->locks[i]) < 0)
			return err_wrap("file lock %u (another process holds the file locked?)", i);
	return 0;
}

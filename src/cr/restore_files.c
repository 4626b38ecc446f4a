/*
 * restore_files.c - the restore side of the file-descriptor framework
 * (files.h).  In the restorer, before the tree exists: every open file of
 * the image is created by its kind's open() (index order), gets its status
 * flags and F_SETSIG, then every kind's settle() runs, and each file is
 * put at its service fd (svc_cfile_fd), which the forked processes
 * inherit.  Each restored process then dup3()s its files to its own fd
 * numbers and runs the install() hooks of the files it is the first to
 * hold.  Owners (F_SETOWN_EX) are set from the restorer once every thread
 * of the tree exists: the restorer's fd shares the description.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/custody_files.h"
#include "cr/files.h"
#include "cr/rootpath.h"
#include "cr/restore_ctx.h"

/* Status flags F_SETFL can change (the access mode is the kind's job). */
#define SETFL_MASK RST_SETFL_MASK

struct rst_files {
	const struct cr_image *img;
	int *fd;                       /* restorer's fd per file, -1: none yet */
	int *aux;                      /* kind-private, -1 initially */
	int ipc_ns;                    /* the tree's IPC namespace, -1: the restorer's */
	uint32_t *holder;              /* first live process holding each file */
	char **created;                /* paths to remove if the restore fails */
	uint32_t nr_created;
	int verify;                    /* a trial restore beside the live tree */
	const struct custody_held *custody; /* sockets from the holder, or NULL */
	int root;                      /* where paths resolve (rootpath.h) */
	const int *shmem_fds;          /* the restorer's, per img.shmem */
};

int files_ipc_ns(const struct rst_files *rf)
{
	return rf->ipc_ns;
}

const struct cr_image *files_rimage(const struct rst_files *rf)
{
	return rf->img;
}

int files_verifying(const struct rst_files *rf)
{
	return rf->verify;
}

int files_get_fd(const struct rst_files *rf, uint32_t id)
{
	return rf->fd[id];
}

void files_set_fd(struct rst_files *rf, uint32_t id, int fd)
{
	rf->fd[id] = fd;
}

int *files_aux(struct rst_files *rf, uint32_t id)
{
	return &rf->aux[id];
}

int files_created(struct rst_files *rf, const char *path)
{
	char **nc = realloc(rf->created, (rf->nr_created + 1) * sizeof(*nc));

	if (!nc)
		return err_set("out of memory");
	rf->created = nc;
	nc[rf->nr_created] = strdup(path);
	if (!nc[rf->nr_created])
		return err_set("out of memory");
	rf->nr_created++;
	return 0;
}

/* /proc/self/fd/N is a link to follow: O_NOFOLLOW, which the file may
 * have been opened with (mkstemp's files, Gunicorn's worker heartbeats),
 * would refuse it (ELOOP); the reopened file is the same one. */
int files_reopen(int fd, int flags)
{
	char path[64];
	int nfd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, (flags & ~O_NOFOLLOW) | O_CLOEXEC);
	if (nfd < 0)
		return err_sys("reopen %s with flags 0%o", path, flags);
	return nfd;
}

int files_root(const struct rst_files *rf)
{
	return rf->root;
}

int files_custody_fd(const struct rst_files *rf, uint32_t id, int *fd)
{
	return custody_held_fd(rf->custody, &rf->img->files[id], id, fd);
}

int files_in_custody(const struct rst_files *rf, uint32_t id)
{
	return custody_holds(rf->custody, &rf->img->files[id]);
}

int files_shmem_fd(const struct rst_files *rf, uint32_t i)
{
	return rf->shmem_fds[i];
}

int files_fd_in(const struct cr_proc *p, uint32_t id)
{
	for (uint32_t i = 0; i < p->nr_fds; i++)
		if (p->fds[i].file == id)
			return p->fds[i].fd;
	return -1;
}

static int alloc_files(struct rst_ctx *c)
{
	uint32_t n = c->img.nr_files;
	struct rst_files *rf = calloc(1, sizeof(*rf));

	if (!rf)
		return err_set("out of memory");
	c->files = rf;
	rf->img = &c->img;
	rf->verify = c->verify;
	rf->custody = c->custody;
	rf->root = c->box_root;
	rf->shmem_fds = c->shmem_fds;
	rf->fd = malloc((n + 1) * sizeof(int));
	rf->aux = malloc((n + 1) * sizeof(int));
	rf->holder = malloc((n + 1) * sizeof(uint32_t));
	if (!rf->fd || !rf->aux || !rf->holder)
		return err_set("out of memory");
	rf->ipc_ns = c->ipc_ns_fd > 0 ? c->ipc_ns_fd : -1;
	for (uint32_t i = 0; i < n; i++) {
		rf->fd[i] = rf->aux[i] = -1;
		rf->holder[i] = UINT32_MAX;
	}
	for (uint32_t k = c->img.nr_procs; k-- > 0;) {
		const struct cr_proc *p = &c->img.procs[k];

		for (uint32_t j = 0; !p->zombie && j < p->nr_fds; j++)
			rf->holder[p->fds[j].file] = k;
	}
	return 0;
}

int rst_fd_out_of_svc(const struct rst_ctx *c, int *fd)
{
	int nfd;

	if (*fd < c->svc_base)
		return 0;
	nfd = fcntl(*fd, F_DUPFD_CLOEXEC, c->svc_end);
	if (nfd < 0)
		return err_sys("move fd %d above %d", *fd, c->svc_end);
	close(*fd);
	*fd = nfd;
	return 0;
}

/* O_ASYNC is left to the process holding the file (see async_in_holder):
 * the kernel's SIGIO names the fd number O_ASYNC was set through. */
static int set_common(const struct cr_file *f, int fd)
{
	if (!(f->flags & O_PATH) &&
	    fcntl(fd, F_SETFL, (int)(f->flags & SETFL_MASK & ~(uint32_t)O_ASYNC)) < 0)
		return err_sys("set status flags 0%o", f->flags & SETFL_MASK);
	if (f->sig && fcntl(fd, F_SETSIG, f->sig) < 0)
		return err_sys("F_SETSIG %d", f->sig);
	return 0;
}

static int open_one(struct rst_ctx *c, uint32_t id)
{
	struct rst_files *rf = c->files;
	const struct cr_file *f = &c->img.files[id];
	const struct file_ops *ops = file_ops_of(f->kind);
	int fd;

	if (!ops)
		return err_set("kind %u not supported by this build", f->kind);
	if (rf->fd[id] < 0) {
		fd = ops->open(rf, id);
		if (fd < 0)
			return -1;
		rf->fd[id] = fd;
	}
	if (rst_fd_out_of_svc(c, &rf->fd[id]) < 0)
		return -1;
	return set_common(f, rf->fd[id]);
}

static int settle_all(struct rst_ctx *c)
{
	for (uint32_t i = 0; i < c->img.nr_files; i++) {
		const struct file_ops *ops = file_ops_of(c->img.files[i].kind);

		if (ops->settle && ops->settle(c->files, i) < 0)
			return err_wrap("file %u (%s)", i, ops->name);
	}
	return 0;
}

int rst_files_open(struct rst_ctx *c)
{
	if (alloc_files(c) < 0)
		return -1;
	for (uint32_t i = 0; i < c->img.nr_files; i++) {
		if (open_one(c, i) < 0) {
			const struct file_ops *ops = file_ops_of(c->img.files[i].kind);

			return err_wrap("file %u (%s)", i, ops ? ops->name : "?");
		}
	}
	if (settle_all(c) < 0)
		return -1;
	for (uint32_t i = 0; i < c->img.nr_files; i++)
		if (dup3(c->files->fd[i], svc_cfile_fd(c, i), O_CLOEXEC) < 0)
			return err_sys("file %u: dup to service fd %d", i, svc_cfile_fd(c, i));
	return 0;
}

/* Signal-driven I/O is registered with the fd number it was turned on
 * through, which si_fd reports: turn it on here, at the app's number. */
static int async_in_holder(const struct cr_file *f, int fd)
{
	if (!(f->flags & O_ASYNC) || (f->flags & O_PATH))
		return 0;
	if (fcntl(fd, F_SETFL, (int)(f->flags & SETFL_MASK)) < 0)
		return err_sys("fd %d: set O_ASYNC", fd);
	return 0;
}

int rst_files_install(struct rst_ctx *c, uint32_t idx)
{
	const struct cr_proc *p = &c->img.procs[idx];

	for (uint32_t i = 0; i < p->nr_fds; i++) {
		const struct cr_fd *d = &p->fds[i];

		if (dup3(svc_cfile_fd(c, d->file), d->fd, d->cloexec ? O_CLOEXEC : 0) < 0)
			return err_sys("fd %d: dup3 from service fd %d", d->fd,
				       svc_cfile_fd(c, d->file));
	}
	for (uint32_t i = 0; i < p->nr_fds; i++) {
		uint32_t id = p->fds[i].file;
		const struct file_ops *ops = file_ops_of(c->img.files[id].kind);

		if (c->files->holder[id] != idx || files_fd_in(p, id) != p->fds[i].fd)
			continue;
		if (async_in_holder(&c->img.files[id], p->fds[i].fd) < 0)
			return -1;
		if (!ops->install)
			continue;
		if (ops->install(&c->img, id, p) < 0)
			return err_wrap("fd %d (%s)", p->fds[i].fd, ops->name);
	}
	return 0;
}

uint32_t rst_file_holder(const struct rst_ctx *c, uint32_t id)
{
	return c->files->holder[id];
}

/* The host id of a pid or tid of the tree (0: not found). */
static pid_t host_id(const struct rst_ctx *c, int32_t id)
{
	for (uint32_t i = 0; i < c->img.nr_procs; i++) {
		const struct rst_proc *rp = &c->procs[i];

		for (uint32_t k = 0; !rp->p->zombie && k < rp->p->nr_threads; k++)
			if (rp->p->threads[k].tid == id)
				return rp->host_tids[k];
	}
	return 0;
}

int rst_files_owners(struct rst_ctx *c)
{
	for (uint32_t i = 0; i < c->img.nr_files; i++) {
		const struct cr_file *f = &c->img.files[i];
		struct f_owner_ex own = { f->owner_type, 0 };

		if (!f->owner)
			continue;
		own.pid = host_id(c, f->owner);
		if (!own.pid)
			return err_set("file %u: owner %d is not a live task of the tree", i,
				       f->owner);
		if (fcntl(c->files->fd[i], F_SETOWN_EX, &own) < 0)
			return err_sys("file %u: F_SETOWN_EX %d (host %d)", i, f->owner,
				       own.pid);
	}
	return 0;
}

void rst_files_free(struct rst_ctx *c, int failed)
{
	struct rst_files *rf = c->files;

	if (!rf)
		return;
	for (uint32_t i = 0; rf->fd && i < c->img.nr_files; i++) {
		if (rf->fd[i] >= 0)
			close(rf->fd[i]);
		close(svc_cfile_fd(c, i));
	}
	for (uint32_t i = 0; i < rf->nr_created; i++) {
		if (failed)
			rst_unlink(rf->root, rf->created[i]);
		free(rf->created[i]);
	}
	free(rf->created);
	free(rf->fd);
	free(rf->aux);
	free(rf->holder);
	free(rf);
	c->files = NULL;
}

/*
 * dump_files.c - the dump side of the file-descriptor framework (files.h):
 * for each fd of a process, find its open file description among those
 * already seen (same inode, then kcmp KCMP_FILE on our duplicates) or
 * make a new struct cr_file: common fields here, the rest by the kind
 * whose match() accepts it.  After every process, the kinds' link()
 * hooks resolve references between files.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/dump_ctx.h"
#include "cr/file_lock.h"
#include "cr/files.h"
#include "cr/proc.h"

struct file_ref {                    /* dump-time facts about one file */
	pid_t pid;                     /* one process holding it (ns pid) */
	int fd;                        /* and its fd number there */
	int dup;                       /* our duplicate */
};

struct dump_files {
	struct dump_ctx *ctx;
	uint32_t cap;
	struct file_ref *refs;         /* index as ctx->img.files */
};

struct cr_image *files_image(struct dump_files *df)
{
	return &df->ctx->img;
}

uint32_t files_find_inode(const struct dump_files *df, uint32_t kind, uint64_t dev,
			  uint64_t ino)
{
	const struct cr_image *img = &df->ctx->img;

	for (uint32_t i = 0; i < img->nr_files; i++)
		if (img->files[i].kind == kind && img->files[i].ino == ino &&
		    img->files[i].dev == dev)
			return i;
	return CR_FILE_NONE;
}

struct netlock *files_netlock(const struct dump_files *df)
{
	return df->ctx->netlock;
}

uint64_t files_custody_tag(const struct dump_files *df)
{
	return df->ctx->custody_tag;
}

int files_dup(const struct dump_files *df, uint32_t id)
{
	return df->refs[id].dup;
}

void files_where(const struct dump_files *df, uint32_t id, pid_t *pid, int *fd)
{
	*pid = df->refs[id].pid;
	*fd = df->refs[id].fd;
}

int files_add_data(struct cr_file *f, const void *buf, uint64_t len)
{
	struct cr_file_data *nd;

	if (len > CR_BLOB_MAX)
		return err_set("%llu bytes of data, above the image's limit of %u",
			       (unsigned long long)len, CR_BLOB_MAX);
	nd = realloc(f->data, (f->nr_data + 1) * sizeof(*nd));
	if (!nd)
		return err_set("out of memory");
	f->data = nd;
	nd = &nd[f->nr_data];
	memset(nd, 0, sizeof(*nd));
	if (len) {
		nd->data = malloc(len);
		if (!nd->data)
			return err_set("out of memory for %llu bytes", (unsigned long long)len);
		memcpy(nd->data, buf, len);
	}
	nd->len = len;
	f->nr_data++;
	return 0;
}

const char *files_fdinfo_field(const char *fdinfo, const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = fdinfo; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, key, klen) && p[klen] == ':') {
			p += klen + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			return p;
		}
	}
	return NULL;
}

static int df_get(struct dump_ctx *ctx, struct dump_files **out)
{
	if (!ctx->files) {
		ctx->files = calloc(1, sizeof(*ctx->files));
		if (!ctx->files)
			return err_set("out of memory");
		ctx->files->ctx = ctx;
	}
	*out = ctx->files;
	return 0;
}

/* A new, zeroed file at the end of the image; *id is its index. */
static int new_file(struct dump_files *df, uint32_t *id)
{
	struct cr_image *img = &df->ctx->img;

	if (img->nr_files == df->cap) {
		uint32_t cap = df->cap ? df->cap * 2 : 64;
		struct cr_file *nf;
		struct file_ref *nr;

		if (cap > CR_MAX_FILES)
			return err_set("more than %u open files in the tree", CR_MAX_FILES);
		nf = realloc(img->files, cap * sizeof(*nf));
		if (nf)
			img->files = nf;
		nr = realloc(df->refs, cap * sizeof(*nr));
		if (nr)
			df->refs = nr;
		if (!nf || !nr)
			return err_set("out of memory");
		df->cap = cap;
	}
	*id = img->nr_files++;
	memset(&img->files[*id], 0, sizeof(img->files[*id]));
	img->files[*id].peer = CR_FILE_NONE;
	df->refs[*id] = (struct file_ref){ 0, -1, -1 };
	return 0;
}

/* The existing file that dup shares its description with, or NONE. */
static uint32_t same_description(const struct dump_files *df, const struct stat *st, int dup)
{
	const struct cr_image *img = &df->ctx->img;
	pid_t self = getpid();

	for (uint32_t i = 0; i < img->nr_files; i++) {
		if (img->files[i].ino != st->st_ino || img->files[i].dev != st->st_dev)
			continue;
		if (syscall(SYS_kcmp, self, self, KCMP_FILE, df->refs[i].dup, dup) == 0)
			return i;
	}
	return CR_FILE_NONE;
}

/* Is host id a task of the tree?  *ns gets its pid in the namespace. */
static int tree_task(const struct dump_ctx *ctx, pid_t host, pid_t *ns)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		for (size_t k = 0; k < ctx->tasks[i].nr_tids; k++)
			if (ctx->tasks[i].host_tids[k] == host)
				return proc_ns_pid(host, ns) == 0;
	return 0;
}

int files_tree_pid(const struct dump_files *df, pid_t host, int32_t *ns)
{
	pid_t n;

	if (!tree_task(df->ctx, host, &n))
		return 0;
	*ns = n;
	return 1;
}

/* F_GETOWN_EX and F_GETSIG, owners translated into the tree's pids. */
static int dump_owner(const struct dump_files *df, const struct fd_dump *d, struct cr_file *f)
{
	struct f_owner_ex own;
	int sig;

	if (fcntl(d->dup, F_GETOWN_EX, &own) < 0)
		return err_sys("F_GETOWN_EX");
	sig = fcntl(d->dup, F_GETSIG);
	if (sig < 0)
		return err_sys("F_GETSIG");
	f->owner_type = own.type;
	f->sig = sig;
	if (own.pid == 0)
		return 0;
	if (!tree_task(df->ctx, own.pid, &f->owner))
		return err_set("owner (F_SETOWN) pid %d is outside the tree (unsupported)",
			       own.pid);
	return 0;
}

static const struct file_ops *find_ops(const struct fd_dump *d)
{
	for (size_t i = 0; file_kinds[i]; i++)
		if (file_kinds[i]->match(d))
			return file_kinds[i];
	return NULL;
}

/* "netlink " etc. for a socket (for messages), "" otherwise. */
static const char *sock_family(const struct fd_dump *d)
{
	int dom = -1;
	socklen_t len = sizeof(dom);

	if (!S_ISSOCK(d->st.st_mode) ||
	    getsockopt(d->dup, SOL_SOCKET, SO_DOMAIN, &dom, &len) < 0)
		return "";
	switch (dom) {
	case AF_UNIX: return "unix ";
	case AF_INET: return "inet ";
	case AF_INET6: return "inet6 ";
	case AF_NETLINK: return "netlink ";
	case AF_PACKET: return "packet ";
	}
	return "other-family ";
}

/* A new file for d; once it exists, it owns d's duplicate. */
static int dump_new_file(struct dump_files *df, struct fd_dump *d,
			 const struct proc_fd *pf, uint32_t *id)
{
	const struct file_ops *ops = find_ops(d);
	struct cr_file *f;
	int rc;

	if (!ops)
		return err_set("unsupported %s%s%s", sock_family(d), d->link,
			       proc_unsupported_hint(d->link));
	if (new_file(df, id) < 0)
		return -1;
	df->refs[*id] = (struct file_ref){ d->pid, d->fd, d->dup };
	f = &df->ctx->img.files[*id];
	f->kind = ops->kind;
	f->flags = pf->flags & CR_FILE_FLAGS_MASK;
	f->pos = pf->pos;
	f->dev = d->st.st_dev;
	f->ino = d->st.st_ino;
	rc = dump_owner(df, d, f);
	if (rc == 0)
		rc = ops->dump(df, d, f);
	d->dup = -1;    /* the file keeps it */
	return rc;
}

static int dump_one_fd(struct dump_files *df, struct fd_dump *d, const struct proc_fd *pf,
		       struct cr_fd *out)
{
	char path[64];
	uint32_t id;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", d->host_pid, d->fd);
	if (stat(path, &d->st) < 0)
		return err_sys("stat %s (%s)", path, pf->link);
	id = same_description(df, &d->st, d->dup);
	if (id != CR_FILE_NONE) {
		close(d->dup);
		d->dup = -1;
	} else if (dump_new_file(df, d, pf, &id) < 0) {
		return -1;
	}
	out->fd = d->fd;
	out->file = id;
	out->cloexec = pf->cloexec;
	return 0;
}

static int dump_fds(struct dump_files *df, pid_t host_pid, int pidfd, struct cr_proc *p,
		    const struct proc_fd *pf, uint32_t n)
{
	p->fds = calloc(n ? n : 1, sizeof(*p->fds));
	if (!p->fds)
		return err_set("out of memory");
	for (uint32_t i = 0; i < n; i++) {
		struct fd_dump d = { host_pid, p->pid, pf[i].fd, -1, pf[i].link,
				     pf[i].fdinfo, { 0 }, p->cwd, p->root,
				     df->ctx->box_root, df->ctx->box };

		d.dup = (int)syscall(SYS_pidfd_getfd, pidfd, pf[i].fd, 0);
		if (d.dup < 0)
			return err_sys("pid %d fd %d: pidfd_getfd", p->pid, pf[i].fd);
		if (dump_one_fd(df, &d, &pf[i], &p->fds[i]) < 0) {
			if (d.dup >= 0)
				close(d.dup);
			return err_wrap("pid %d fd %d", p->pid, pf[i].fd);
		}
		p->nr_fds++;
	}
	return 0;
}

int dump_proc_files(struct dump_ctx *ctx, struct dump_task *t, struct cr_proc *p)
{
	struct dump_files *df = NULL;
	struct proc_fd *pf;
	uint32_t n;
	int pidfd, rc;

	if (df_get(ctx, &df) < 0 || proc_read_fds(t->host_pid, &pf, &n) < 0)
		return -1;
	pidfd = (int)syscall(SYS_pidfd_open, t->host_pid, 0);
	if (pidfd < 0) {
		proc_free_fds(pf, n);
		return err_sys("pid %d: pidfd_open", p->pid);
	}
	rc = dump_fds(df, t->host_pid, pidfd, p, pf, n);
	if (rc == 0)
		rc = lock_dump(p, pf, n);
	close(pidfd);
	proc_free_fds(pf, n);
	return rc;
}

int dump_files_link(struct dump_ctx *ctx)
{
	struct dump_files *df = ctx->files;

	for (uint32_t i = 0; df && i < ctx->img.nr_files; i++) {
		const struct file_ops *ops = file_ops_of(ctx->img.files[i].kind);

		if (ops && ops->link && ops->link(df, i) < 0) {
			pid_t pid;
			int fd;

			files_where(df, i, &pid, &fd);
			return err_wrap("pid %d fd %d", pid, fd);
		}
	}
	return 0;
}

void dump_files_release(struct dump_ctx *ctx)
{
	struct dump_files *df = ctx->files;

	if (!df)
		return;
	for (uint32_t i = 0; i < ctx->img.nr_files; i++)
		if (df->refs[i].dup >= 0)
			close(df->refs[i].dup);
	free(df->refs);
	free(df);
	ctx->files = NULL;
}

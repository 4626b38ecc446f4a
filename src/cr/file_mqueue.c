/*
 * file_mqueue.c - POSIX message queues (CR_FILE_MQUEUE): an fd from
 * mq_open(), in a tree with its own IPC namespace (the queues live in its
 * mqueue file system).
 *
 * Dump: the name is the fd's path in that file system ("/name", with
 * " (deleted)" once mq_unlink()ed), the attributes come from mq_getattr,
 * the owner and mode from stat.  The messages are read once per queue
 * (on its first file) through a new read-write description of it: every
 * message is received (highest priority first, in order within one) and
 * sent back at once in the same order, which leaves the queue as it was.
 * A queue with an mq_notify() registration fails the dump.
 *
 * Restore: the restorer joins the tree's new IPC namespace, creates the
 * queue with its name and attributes (as its owner: see open_as_owner), sends the messages in order, sets
 * owner and mode, unlinks it if it was unlinked, and reopens it with the
 * app's access mode; another description of the same queue is a reopen of
 * that one.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/files.h"

#define MQUEUE_MAGIC 0x19800202
#define DELETED " (deleted)"

/* ---- dump ---- */

static int mq_match(const struct fd_dump *d)
{
	struct statfs sfs;

	return fstatfs(d->dup, &sfs) == 0 && sfs.f_type == MQUEUE_MAGIC;
}

/* The queue's name, and whether it was unlinked. */
static int queue_name(const struct fd_dump *d, struct cr_file *f)
{
	size_t n = strlen(d->link), dl = strlen(DELETED);

	if (n > dl && !strcmp(d->link + n - dl, DELETED)) {
		f->mq.unlinked = 1;
		n -= dl;
	}
	if (n < 2 || d->link[0] != '/' || memchr(d->link + 1, '/', n - 1))
		return err_set("POSIX message queue with the name %s (unsupported)", d->link);
	f->path = strndup(d->link, n);
	return f->path ? 0 : err_set("out of memory");
}

/* The queue's status text (QSIZE, NOTIFY...), read through a description
 * of our own so that the app's offset stays. */
static int check_no_notify(int rfd, const char *name)
{
	char buf[256];
	ssize_t n = pread(rfd, buf, sizeof(buf) - 1, 0);
	const char *pid;

	if (n < 0)
		return err_sys("read the status of %s", name);
	buf[n] = '\0';
	pid = strstr(buf, "NOTIFY_PID:");
	if (pid && atoi(pid + strlen("NOTIFY_PID:")) != 0)
		return err_set("POSIX message queue %s: an mq_notify() registration "
			       "(unsupported)", name);
	return 0;
}

static int first_of_queue(struct dump_files *df, const struct cr_file *f)
{
	const struct cr_image *img = files_image(df);

	for (uint32_t i = 0; i < img->nr_files; i++)
		if (&img->files[i] != f && img->files[i].kind == CR_FILE_MQUEUE &&
		    img->files[i].obj == f->obj && img->files[i].mq.has_data)
			return 0;
	return 1;
}

/* Receive every message, then send them all back in the same order. */
static int read_messages(int rfd, struct cr_file *f)
{
	static const struct timespec past = { 0, 0 };
	char *buf = malloc((size_t)f->mq.msgsize);
	unsigned prio;
	ssize_t n;
	int rc = 0;

	if (!buf)
		return err_set("out of memory");
	while ((n = mq_timedreceive(rfd, buf, (size_t)f->mq.msgsize, &prio, &past)) >= 0) {
		if (files_add_data(f, buf, (uint64_t)n) < 0) {
			rc = -1;
			break;
		}
		f->data[f->nr_data - 1].flags = prio;
	}
	if (rc == 0 && n < 0 && errno != ETIMEDOUT && errno != EAGAIN)
		rc = err_sys("mq_receive");
	for (uint32_t i = 0; i < f->nr_data; i++)
		if (mq_send(rfd, (const char *)f->data[i].data, f->data[i].len,
			    f->data[i].flags) < 0 && rc == 0)
			rc = err_sys("send message %u back (%u of them lost)", i, f->nr_data - i);
	free(buf);
	return rc;
}

static int mq_dump(struct dump_files *df, const struct fd_dump *d, struct cr_file *f)
{
	struct mq_attr a;
	char path[64];
	int rfd, rc;

	if (queue_name(d, f) < 0)
		return -1;
	if (mq_getattr(d->dup, &a) < 0)
		return err_sys("mq_getattr %s", f->path);
	f->pos = 0;
	f->obj = (uint64_t)d->st.st_ino;
	f->mq.mode = d->st.st_mode & 0777;
	f->mq.uid = d->st.st_uid;
	f->mq.gid = d->st.st_gid;
	f->mq.maxmsg = a.mq_maxmsg;
	f->mq.msgsize = a.mq_msgsize;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", d->host_pid, d->fd);
	rfd = open(path, O_RDWR | O_CLOEXEC);
	if (rfd < 0)
		return err_sys("open %s (%s) to read it", path, d->link);
	rc = check_no_notify(rfd, f->path);
	if (rc == 0 && first_of_queue(df, f)) {
		f->mq.has_data = 1;
		rc = read_messages(rfd, f);
	}
	close(rfd);
	return rc < 0 ? err_wrap("POSIX message queue %s", f->path) : 0;
}

/* ---- restore ---- */

/* Run create(f) in the tree's IPC namespace. */
static int in_namespace(struct rst_files *rf, const struct cr_file *f,
			int (*create)(const struct cr_file *f))
{
	int self, fd, ns = files_ipc_ns(rf);

	if (ns < 0)
		return err_set("POSIX message queue %s outside an IPC namespace of the tree "
			       "(unsupported)", f->path);
	self = open("/proc/thread-self/ns/ipc", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return err_sys("open /proc/thread-self/ns/ipc");
	if (setns(ns, CLONE_NEWIPC) < 0) {
		close(self);
		return err_sys("join the restored IPC namespace");
	}
	fd = create(f);
	if (setns(self, CLONE_NEWIPC) < 0 && fd >= 0) {
		close(fd);
		fd = err_sys("return to the restorer's IPC namespace");
	}
	close(self);
	return fd;
}

static int fill(int fd, const struct cr_file *f)
{
	for (uint32_t i = 0; i < f->nr_data; i++)
		if (mq_send(fd, (const char *)f->data[i].data, f->data[i].len,
			    f->data[i].flags) < 0)
			return err_sys("send message %u (%llu bytes)", i,
				       (unsigned long long)f->data[i].len);
	return 0;
}

/* mq_open(O_CREAT) as the queue's owner: a boxed tree's IPC namespace
 * belongs to the box's user namespace, where the restorer's ids do not
 * exist (creating a file there as them fails with EOVERFLOW).  Only the
 * file system ids change, for this thread, and come back at once. */
static int open_as_owner(const struct cr_file *f, struct mq_attr *a)
{
	uid_t uid = (uid_t)setfsuid((uid_t)-1);
	gid_t gid = (gid_t)setfsgid((gid_t)-1);
	int fd, e;

	setfsgid(f->mq.gid);
	setfsuid(f->mq.uid);
	fd = mq_open(f->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, a);
	e = errno;
	setfsuid(uid);
	setfsgid(gid);
	errno = e;
	return fd;
}

/* In the namespace: the queue, filled, owned and unlinked as it was. */
static int create_queue(const struct cr_file *f)
{
	struct mq_attr a = { .mq_maxmsg = f->mq.maxmsg, .mq_msgsize = f->mq.msgsize };
	int fd = open_as_owner(f, &a);

	if (fd < 0)
		return err_sys("mq_open %s (maxmsg %lld, msgsize %lld)", f->path,
			       (long long)f->mq.maxmsg, (long long)f->mq.msgsize);
	if (fill(fd, f) < 0 || (fchown(fd, f->mq.uid, f->mq.gid) < 0 &&
				err_sys("chown %u:%u", f->mq.uid, f->mq.gid)) ||
	    (fchmod(fd, f->mq.mode) < 0 && err_sys("chmod 0%o", f->mq.mode)) ||
	    (f->mq.unlinked && mq_unlink(f->path) < 0 && err_sys("mq_unlink"))) {
		close(fd);
		mq_unlink(f->path);
		return -1;
	}
	return fd;
}

/* The file holding the queue's messages (the first of the queue). */
static const struct cr_file *data_file(const struct cr_image *img, const struct cr_file *f)
{
	for (uint32_t i = 0; i < img->nr_files; i++)
		if (img->files[i].kind == CR_FILE_MQUEUE && img->files[i].obj == f->obj &&
		    img->files[i].mq.has_data)
			return &img->files[i];
	return f;
}

static int mq_open_file(struct rst_files *rf, uint32_t id)
{
	const struct cr_image *img = files_rimage(rf);
	const struct cr_file *f = &img->files[id];
	int fd, nfd;

	for (uint32_t i = 0; i < id; i++)
		if (img->files[i].kind == CR_FILE_MQUEUE && img->files[i].obj == f->obj &&
		    files_get_fd(rf, i) >= 0)
			return files_reopen(files_get_fd(rf, i), (int)(f->flags & O_ACCMODE));
	fd = in_namespace(rf, data_file(img, f), create_queue);
	if (fd < 0)
		return err_wrap("POSIX message queue %s", f->path);
	if ((f->flags & O_ACCMODE) == O_RDWR)
		return fd;
	nfd = files_reopen(fd, (int)(f->flags & O_ACCMODE));
	close(fd);
	return nfd;
}

const struct file_ops file_mqueue_ops = {
	.kind = CR_FILE_MQUEUE,
	.name = "POSIX message queue",
	.match = mq_match,
	.dump = mq_dump,
	.open = mq_open_file,
};

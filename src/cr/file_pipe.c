/*
 * file_pipe.c - pipes and FIFOs.  Each end (open file description) is a
 * cr_file; the ends of one pipe share obj (the pipe's inode).  The bytes
 * in flight are read without consuming them: tee() from a read view of
 * the pipe (opened through /proc/PID/fd/N) into a scratch pipe; they are
 * kept on one end of the pipe (pipe.has_data), with F_GETPIPE_SZ.  At
 * restore, the first end of a pipe makes the pipe (pipe2, or for a FIFO
 * its path opened O_RDWR as a keeper), sizes it, writes the bytes back and
 * opens every end of it with its access mode.  A pipe with only one end in
 * the tree keeps it (with a warning): the other end was outside or closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/files.h"
#include "cr/rootpath.h"

static int pipe_match(const struct fd_dump *d)
{
	return S_ISFIFO(d->st.st_mode) && !strncmp(d->link, "pipe:", 5);
}

static int fifo_match(const struct fd_dump *d)
{
	return S_ISFIFO(d->st.st_mode) && d->link[0] == '/';
}

/* Copy the pipe's content (read end rd, size bytes of buffer) into *buf. */
static int peek_pipe(int rd, uint32_t size, uint8_t **buf, size_t *len)
{
	int avail = 0, sp[2];
	ssize_t n;
	size_t got = 0;

	if (ioctl(rd, FIONREAD, &avail) < 0)
		return err_sys("FIONREAD");
	*buf = NULL;
	*len = 0;
	if (avail <= 0)
		return 0;
	if (pipe2(sp, O_CLOEXEC | O_NONBLOCK) < 0)
		return err_sys("scratch pipe");
	if (fcntl(sp[1], F_SETPIPE_SZ, size) < 0) {
		err_sys("scratch pipe: F_SETPIPE_SZ %u", size);
		goto out;
	}
	n = tee(rd, sp[1], (size_t)avail, SPLICE_F_NONBLOCK);
	if (n != avail) {
		err_sys("tee %d bytes of the pipe (got %zd)", avail, n);
		goto out;
	}
	*buf = malloc((size_t)avail);
	if (!*buf) {
		err_set("out of memory");
		goto out;
	}
	while (got < (size_t)avail && (n = read(sp[0], *buf + got, (size_t)avail - got)) > 0)
		got += (size_t)n;
	*len = got;
out:
	close(sp[0]);
	close(sp[1]);
	if (*len != (size_t)avail) {
		free(*buf);
		*buf = NULL;
		return -1;
	}
	return 0;
}

/* Is f the first file of its pipe in the image? */
static int first_of_pipe(struct dump_files *df, const struct cr_file *f)
{
	struct cr_image *img = files_image(df);
	uint32_t first = files_find_inode(df, f->kind, f->dev, f->ino);

	return first != CR_FILE_NONE && &img->files[first] == f;
}

static int pipe_dump(struct dump_files *df, const struct fd_dump *d, struct cr_file *f)
{
	char path[64];
	uint8_t *buf = NULL;
	size_t len = 0;
	int rd, sz, rc;

	sz = fcntl(d->dup, F_GETPIPE_SZ);
	if (sz < 0)
		return err_sys("F_GETPIPE_SZ");
	f->pipe.size = (uint32_t)sz;
	f->obj = (uint64_t)d->st.st_ino;
	if (f->kind == CR_FILE_FIFO) {
		f->path = strdup(d->link);
		if (!f->path)
			return err_set("out of memory");
	}
	if (!first_of_pipe(df, f))
		return 0;
	f->pipe.has_data = 1;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", d->host_pid, d->fd);
	rd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rd < 0)
		return err_sys("open %s (%s) to read it", path, d->link);
	rc = peek_pipe(rd, f->pipe.size, &buf, &len);
	close(rd);
	if (rc < 0)
		return err_wrap("%s", d->link);
	if (len)
		rc = files_add_data(f, buf, len);
	free(buf);
	return rc;
}

/* Warn when a pipe has no reader or no writer in the tree. */
static int pipe_link(struct dump_files *df, uint32_t id)
{
	const struct cr_image *img = files_image(df);
	const struct cr_file *f = &img->files[id];
	int ends = 0;
	pid_t pid;
	int fd;

	if (!f->pipe.has_data)
		return 0;
	for (uint32_t i = 0; i < img->nr_files; i++) {
		const struct cr_file *g = &img->files[i];

		if (g->kind == f->kind && g->obj == f->obj)
			ends |= (g->flags & O_ACCMODE) == O_WRONLY ? 2 :
				(g->flags & O_ACCMODE) == O_RDONLY ? 1 : 3;
	}
	if (ends == 3 || f->kind == CR_FILE_FIFO)
		return 0;
	files_where(df, id, &pid, &fd);
	fprintf(stderr, "picocenter: warning: pid %d fd %d: pipe without a %s end in the "
		"tree; after a restore, it %s\n", pid, fd, ends == 1 ? "write" : "read",
		ends == 1 ? "reads end of file once empty" : "gives EPIPE to writers");
	return 0;
}

/* Fill a new pipe (write end w) with the image's content of its object. */
static int fill_pipe(const struct cr_image *img, const struct cr_file *f, int w)
{
	if (fcntl(w, F_SETPIPE_SZ, f->pipe.size) < 0)
		return err_sys("F_SETPIPE_SZ %u", f->pipe.size);
	for (uint32_t i = 0; i < img->nr_files; i++) {
		const struct cr_file *g = &img->files[i];

		if (g->kind != f->kind || g->obj != f->obj || !g->pipe.has_data)
			continue;
		for (uint32_t k = 0; k < g->nr_data; k++) {
			const struct cr_file_data *dd = &g->data[k];

			if (write(w, dd->data, dd->len) != (ssize_t)dd->len)
				return err_sys("write %llu bytes back into the pipe",
					       (unsigned long long)dd->len);
		}
	}
	return 0;
}

/* Give every end of f's pipe an fd: rd/wr are a read and a write view. */
static int open_ends(struct rst_files *rf, const struct cr_file *f, int rd, int wr)
{
	const struct cr_image *img = files_rimage(rf);

	for (uint32_t i = 0; i < img->nr_files; i++) {
		const struct cr_file *g = &img->files[i];
		int acc = (int)(g->flags & O_ACCMODE), fd;

		if (g->kind != f->kind || g->obj != f->obj || files_get_fd(rf, i) >= 0)
			continue;
		fd = files_reopen(acc == O_RDONLY ? rd : wr, acc | O_NONBLOCK);
		if (fd < 0)
			return -1;
		files_set_fd(rf, i, fd);
	}
	return 0;
}

static int pipe_open(struct rst_files *rf, uint32_t id)
{
	const struct cr_image *img = files_rimage(rf);
	const struct cr_file *f = &img->files[id];
	int p[2], rc;

	if (f->kind == CR_FILE_PIPE) {
		if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
			return err_sys("pipe");
	} else {
		p[0] = rst_open(files_root(rf), f->path, O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
		if (p[0] < 0)
			return err_sys("open fifo %s", f->path);
		p[1] = dup(p[0]);
		if (p[1] < 0) {
			close(p[0]);
			return err_sys("dup");
		}
	}
	rc = fill_pipe(img, f, p[1]);
	if (rc == 0)
		rc = open_ends(rf, f, p[0], p[1]);
	close(p[0]);
	close(p[1]);
	return rc < 0 ? -1 : files_get_fd(rf, id);
}

const struct file_ops file_pipe_ops = {
	.kind = CR_FILE_PIPE,
	.name = "pipe",
	.match = pipe_match,
	.dump = pipe_dump,
	.link = pipe_link,
	.open = pipe_open,
};

const struct file_ops file_fifo_ops = {
	.kind = CR_FILE_FIFO,
	.name = "fifo",
	.match = fifo_match,
	.dump = pipe_dump,
	.link = pipe_link,
	.open = pipe_open,
};

/*
 * file_inotify.c - inotify instances (CR_FILE_INOTIFY).  Each watch is an
 * entry of the file: fd = wd, events = mask (IN_* events plus
 * IN_EXCL_UNLINK / IN_ONESHOT as fdinfo shows them), path = the watched
 * inode's path.
 *
 * Dump: /proc/PID/fdinfo lists every watch with the watched inode's
 * superblock (sdev) and file handle.  The handle is opened with
 * open_by_handle_at() against a mount of that superblock (found in
 * /proc/PID/mountinfo, opened through /proc/PID/root) and named by
 * readlink of /proc/self/fd/N (in a box, the overlay cannot decode a
 * non-directory's handle: the real file's, inside it, is opened in the
 * box's upper or lower layer, ovl_handle.c); the name must lead back to
 * the same inode in the tree's view.  A watch on a deleted inode fails the dump.
 *
 * Restore: a new instance gets the watches in increasing wd order, each
 * path opened where the image's paths resolve (a box's root).  The
 * kernel hands out wds cyclically from 1, so a gap (a watch removed before
 * the dump) is skipped by adding and removing the watch until its wd comes
 * up; a wd that would come out higher than the image's fails the restore.
 * The IN_IGNORED events this leaves are read away.  Events queued at the
 * dump are dropped (the app sees only what happens after the restore).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/files.h"
#include "cr/ovl_handle.h"
#include "cr/rootpath.h"

#define HANDLE_MAX 128                  /* MAX_HANDLE_SZ */
#define SKIP_MAX (1 << 20)              /* wds skipped to reach one watch */

struct watch {                          /* one "inotify wd:..." fdinfo line */
	int wd;
	unsigned long ino;
	unsigned sdev, mask, bytes;
	int type;
	char hex[2 * HANDLE_MAX + 1];
};

static int ino_match(const struct fd_dump *d)
{
	return !strcmp(d->link, "anon_inode:inotify");
}

static int parse_watch(const char *line, struct watch *w)
{
	unsigned ignored;

	if (sscanf(line, "inotify wd:%d ino:%lx sdev:%x mask:%x ignored_mask:%x "
		   "fhandle-bytes:%x fhandle-type:%x f_handle:%256s", &w->wd, &w->ino,
		   &w->sdev, &w->mask, &ignored, &w->bytes, &w->type, w->hex) != 8 ||
	    w->bytes > HANDLE_MAX || strlen(w->hex) != 2 * w->bytes)
		return err_set("inotify: bad fdinfo line \"%.80s\"", line);
	return 0;
}

/* A mount of the superblock sdev (kernel dev_t: major << 20 | minor). */
static int open_mount(pid_t pid, unsigned sdev)
{
	char path[64], line[8192], mnt[4096], full[4200];
	unsigned maj, min;
	FILE *f;
	int fd = -1;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	f = fopen(path, "re");
	if (!f)
		return err_sys("open %s", path);
	while (fd < 0 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min, mnt) != 3 ||
		    maj != sdev >> 20 || min != (sdev & 0xfffff))
			continue;
		snprintf(full, sizeof(full), "/proc/%d/root%s", pid, mnt);
		fd = open(full, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			err_sys("open mount %s", full);
			break;
		}
	}
	fclose(f);
	if (fd < 0 && !err_msg()[0])
		err_set("no mount of device %u:%u in %s", sdev >> 20, sdev & 0xfffff, path);
	return fd;
}

static int parse_handle(const struct watch *w, unsigned char *bytes)
{
	for (unsigned i = 0; i < w->bytes; i++)
		if (sscanf(w->hex + 2 * i, "%2hhx", &bytes[i]) != 1)
			return err_set("inotify wd %d: bad file handle", w->wd);
	return 0;
}

/* Open the watched inode of w (O_PATH); -1 with errno ESTALE when its
 * handle cannot be decoded. */
static int open_watched(pid_t pid, const struct watch *w, const unsigned char *bytes)
{
	struct file_handle *fh;
	int mfd, fd;

	err_clear();
	mfd = open_mount(pid, w->sdev);
	if (mfd < 0)
		return err_wrap("inotify wd %d", w->wd);
	fh = malloc(sizeof(*fh) + HANDLE_MAX);
	if (!fh) {
		close(mfd);
		return err_set("out of memory");
	}
	fh->handle_bytes = w->bytes;
	fh->handle_type = w->type;
	memcpy((unsigned char *)fh + sizeof(*fh), bytes, w->bytes);
	fd = open_by_handle_at(mfd, fh, O_PATH | O_CLOEXEC);
	free(fh);
	close(mfd);
	if (fd < 0) {
		int e = errno;

		err_sys("inotify wd %d: open_by_handle_at (inode %lu)", w->wd, w->ino);
		errno = e;
	}
	return fd;
}

/* The watched inode's path as the tree sees it: its handle opened and
 * named by readlink; in a box, a non-directory's overlay handle is opened
 * in the layer it names (ovl_handle.c). */
static int watched_path(const struct fd_dump *d, const struct watch *w, char *path,
			size_t len)
{
	unsigned char bytes[HANDLE_MAX];
	char link[64];
	ssize_t n;
	int fd;

	if (parse_handle(w, bytes) < 0)
		return -1;
	fd = open_watched(d->host_pid, w, bytes);
	if (fd < 0 && errno == ESTALE && d->box && ovl_handle_is(w->type, bytes, w->bytes))
		return ovl_handle_path(d->box, bytes, w->bytes, path, len) < 0 ?
		       err_wrap("inotify wd %d", w->wd) : 0;
	if (fd < 0)
		return -1;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, len - 1);
	close(fd);
	if (n < 0)
		return err_sys("inotify wd %d: readlink %s", w->wd, link);
	path[n] = '\0';
	return 0;
}

/* The path of watch w, checked to lead to its inode in the tree's view. */
static int watch_path(const struct fd_dump *d, const struct watch *w, char **out)
{
	char path[CR_PATH_MAX], view[CR_PATH_MAX + 64];
	struct stat st;
	size_t n;

	if (watched_path(d, w, path, sizeof(path)) < 0)
		return -1;
	n = strlen(path);
	if (path[0] != '/' || (n > 10 && !strcmp(path + n - 10, " (deleted)")))
		return err_set("inotify wd %d: watched inode %lu is deleted or unreachable "
			       "(\"%s\", unsupported)", w->wd, w->ino, path);
	snprintf(view, sizeof(view), "/proc/%d/root%s", d->host_pid, path);
	if (lstat(view, &st) < 0 || st.st_ino != w->ino)
		return err_set("inotify wd %d: %s does not lead to the watched inode %lu",
			       w->wd, path, w->ino);
	*out = strdup(path);
	return *out ? 0 : err_set("out of memory");
}

static int cmp_wd(const void *a, const void *b)
{
	const struct cr_file_ent *x = a, *y = b;

	return (x->fd > y->fd) - (x->fd < y->fd);
}

static int add_watch(const struct fd_dump *d, struct cr_file *f, const char *line)
{
	struct cr_file_ent *ne;
	struct watch w;
	char *path;

	if (parse_watch(line, &w) < 0 || watch_path(d, &w, &path) < 0)
		return -1;
	ne = realloc(f->ents, (f->nr_ents + 1) * sizeof(*ne));
	if (!ne) {
		free(path);
		return err_set("out of memory");
	}
	f->ents = ne;
	ne[f->nr_ents++] = (struct cr_file_ent){ w.wd, w.mask, 0, path };
	return 0;
}

static int ino_dump(struct dump_files *df, const struct fd_dump *d, struct cr_file *f)
{
	(void)df;
	f->pos = 0;
	for (const char *p = d->fdinfo; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, "inotify ", 8) && add_watch(d, f, p) < 0)
			return -1;
	qsort(f->ents, f->nr_ents, sizeof(*f->ents), cmp_wd);
	return 0;
}

/* ---- restore ---- */

/* Add e to fd so that it gets wd e->fd.  The watched inode is opened
 * (O_PATH, its last component not followed) where the image's paths
 * resolve (rootpath.h: a box's root), and watched through its
 * /proc/self/fd link, which inotify follows to that inode. */
static int add_watch_at(int fd, const struct cr_file_ent *e, const char *link)
{
	for (int tries = 0; tries < SKIP_MAX; tries++) {
		int wd = inotify_add_watch(fd, link, e->events);

		if (wd < 0)
			return err_sys("inotify: watch %s (mask 0x%" PRIx32 ")", e->path, e->events);
		if (wd == e->fd)
			return 0;
		if (wd > e->fd)
			return err_set("inotify: watch %s got wd %d, the image has %d", e->path,
				       wd, e->fd);
		if (inotify_rm_watch(fd, wd) < 0)
			return err_sys("inotify: skip wd %d", wd);
	}
	return err_set("inotify: wd %d out of reach", e->fd);
}

static int add_at(int fd, const struct cr_file_ent *e, int root)
{
	int target = rst_open(root, e->path, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
	char link[64];
	int rc;

	if (target < 0)
		return err_sys("inotify: open the watched %s", e->path);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", target);
	rc = add_watch_at(fd, e, link);
	close(target);
	return rc;
}

/* Read away the IN_IGNORED events of skipped wds. */
static int drain(int fd)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	if (errno != EAGAIN)
		return err_sys("inotify: read away skipped watches' events");
	return 0;
}

static int ino_open(struct rst_files *rf, uint32_t id)
{
	const struct cr_file *f = &files_rimage(rf)->files[id];
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

	if (fd < 0)
		return err_sys("inotify_init1");
	for (uint32_t i = 0; i < f->nr_ents; i++)
		if (add_at(fd, &f->ents[i], files_root(rf)) < 0)
			goto fail;
	if (drain(fd) < 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

const struct file_ops file_inotify_ops = {
	.kind = CR_FILE_INOTIFY,
	.name = "inotify",
	.match = ino_match,
	.dump = ino_dump,
	.open = ino_open,
};

/*
 * file_reg.c - file kinds backed by a path: regular files (an unlinked
 * one, memfds included, carries its content in the image and comes back
 * as an O_TMPFILE in its old directory, or a memfd; one the tree also maps
 * shared is that shared object, stored with the memory, and its fd is
 * opened on the object the restored mappings get), directories (the
 * getdents position restarts at 0: only the fd and its flags survive) and
 * the character devices /dev/null, zero, random and urandom.  A terminal
 * is not carried: the dump warns and the fd comes back as /dev/null.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "cr/files.h"
#include "cr/rootpath.h"

#define DELETED " (deleted)"
/* Flags that open(2) takes back as they were (O_ASYNC: F_SETFL). */
#define OPEN_MASK (O_ACCMODE | O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | O_PATH | \
		   O_DSYNC | O_SYNC | O_LARGEFILE | O_NOFOLLOW | O_DIRECTORY)

static int open_flags(const struct cr_file *f)
{
	return (int)(f->flags & OPEN_MASK) | O_CLOEXEC;
}

/* ---- regular files ---- */

static int reg_match(const struct fd_dump *d)
{
	return S_ISREG(d->st.st_mode);
}

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);

	return n >= k && !strcmp(s + n - k, suf);
}

static int is_memfd(const char *path)
{
	return !strncmp(path, "/memfd:", 7);
}

/* A memfd's seals, read through fd (another open of the same inode). */
static int read_seals(int fd, struct cr_file *f)
{
	int seals;

	if (!is_memfd(f->path))
		return 0;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return err_sys("%s: F_GET_SEALS", f->path);
	if ((unsigned)seals & ~CR_MEMFD_SEALS)
		return err_set("%s: seals 0x%x not known", f->path, seals);
	f->reg.seals = (uint32_t)seals;
	return 0;
}

/* The whole content of an unlinked file, through fd, a read-only view. */
static int read_content(int fd, struct cr_file *f)
{
	uint64_t got = 0, size = f->reg.size;
	uint8_t *buf;
	int rc = 0;

	if (size > CR_BLOB_MAX)
		return err_set("unlinked file %s of %llu bytes (unsupported above %u "
			       "unless the tree maps it shared)", f->path,
			       (unsigned long long)size, CR_BLOB_MAX);
	buf = malloc(size ? (size_t)size : 1);
	if (!buf)
		return err_set("out of memory");
	while (got < size) {
		ssize_t n = pread(fd, buf + got, (size_t)(size - got), (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? err_sys("read %s", f->path) :
				err_set("%s shrank while read", f->path);
			break;
		}
		got += (uint64_t)n;
	}
	if (rc == 0)
		rc = files_add_data(f, buf, got);
	free(buf);
	return rc;
}

static int reg_dump(struct dump_files *df, const struct fd_dump *d, struct cr_file *f)
{
	size_t len = strlen(d->link);
	int deleted = has_suffix(d->link, DELETED);

	(void)df;
	if (d->link[0] != '/' || len >= CR_PATH_MAX)
		return err_set("regular file with an unusable path %s", d->link);
	f->path = strdup(d->link);
	if (!f->path)
		return err_set("out of memory");
	if (deleted && d->st.st_nlink > 0)
		return err_set("unsupported file %s: removed from this path but linked "
			       "elsewhere", d->link);
	if (deleted)
		f->path[len - strlen(DELETED)] = '\0';
	f->reg.mode = d->st.st_mode & 07777;
	f->reg.size = (uint64_t)d->st.st_size;
	if (d->st.st_nlink == 0) {
		f->reg.unlinked = CR_REG_UNLINKED;   /* its content: reg_link */
		f->reg.has_owner = 1;                /* a box's view: file_owners.c */
		f->reg.uid = d->st.st_uid;
		f->reg.gid = d->st.st_gid;
	}
	return 0;
}

/* The shared mapping of the inode (dev, ino) by a process of the tree. */
static const struct cr_vma *shared_map_of(const struct cr_image *img, uint64_t dev,
					  uint64_t ino)
{
	for (uint32_t i = 0; i < img->nr_procs; i++)
		for (uint32_t k = 0; k < img->procs[i].nr_vmas; k++) {
			const struct cr_vma *v = &img->procs[i].vmas[k];

			if (v->kind == CR_VMA_SHMEM && v->dev == dev && v->ino == ino)
				return v;
		}
	return NULL;
}

/* Seals that forbid writing: the object a shared mapping gets at restore
 * is writable, so a file with them keeps a copy of its own. */
#define WRITE_SEALS (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)

/* Once every process is read: a removed file that the tree also maps
 * shared (a memfd that is a JVM's heap, say) is that shared object, whose
 * content the memory dump stores sparsely; the restore opens the fd on
 * the object its mappings get, so that both stay one file.  Any other
 * removed file carries its content. */
static int reg_link(struct dump_files *df, uint32_t id)
{
	struct cr_image *img = files_image(df);
	struct cr_file *f = &img->files[id];
	char path[64];
	int fd, rc;

	if (f->reg.unlinked != CR_REG_UNLINKED)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", files_dup(df, id));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys("open %s (%s) to read it", path, f->path);
	rc = read_seals(fd, f);
	if (rc == 0 && !(f->reg.seals & WRITE_SEALS) && shared_map_of(img, f->dev, f->ino))
		f->reg.unlinked = CR_REG_IN_SHMEM;
	else if (rc == 0)
		rc = read_content(fd, f);
	close(fd);
	return rc;
}

void files_reg_shmem(struct cr_image *img)
{
	for (uint32_t i = 0; i < img->nr_files; i++) {
		struct cr_file *f = &img->files[i];
		const struct cr_vma *v;

		if (f->kind == CR_FILE_REG && f->reg.unlinked == CR_REG_IN_SHMEM &&
		    (v = shared_map_of(img, f->dev, f->ino)))
			f->obj = v->shmem_id;
	}
}

/* A memfd made without MFD_ALLOW_SEALING has F_SEAL_SEAL and nothing
 * else; any other seal set needs sealing allowed, and is added once the
 * content is in. */
static unsigned memfd_flags(const struct cr_file *f)
{
	return is_memfd(f->path) && f->reg.seals != F_SEAL_SEAL ? MFD_ALLOW_SEALING : 0;
}

static int add_seals(int fd, const struct cr_file *f)
{
	if (!(memfd_flags(f) & MFD_ALLOW_SEALING) || !f->reg.seals)
		return 0;
	if (fcntl(fd, F_ADD_SEALS, (int)f->reg.seals) < 0)
		return err_sys("%s: F_ADD_SEALS 0x%x", f->path, f->reg.seals);
	return 0;
}

/* fd made for removed file f gets f's owner (the restorer made it as
 * itself; in a box that owner is no id of the box, and its processes
 * could not even fchmod their own file), then f's mode. */
static int set_owner_mode(int fd, const struct cr_file *f)
{
	struct stat st;

	if (f->reg.has_owner && fstat(fd, &st) < 0)
		return err_sys("removed %s: fstat", f->path);
	if (f->reg.has_owner && (st.st_uid != f->reg.uid || st.st_gid != f->reg.gid) &&
	    fchown(fd, f->reg.uid, f->reg.gid) < 0)
		return err_sys("removed %s: chown %u:%u", f->path, f->reg.uid, f->reg.gid);
	if (fchmod(fd, f->reg.mode) < 0)
		return err_sys("removed %s: chmod 0%o", f->path, f->reg.mode);
	return 0;
}

/* A new nameless file holding an unlinked file's content. */
static int make_unlinked(int root, const struct cr_file *f)
{
	char *dir = strdup(f->path);
	int fd = -1;

	if (!dir)
		return err_set("out of memory");
	if (!is_memfd(f->path))
		fd = rst_open(root, dirname(dir), O_TMPFILE | O_RDWR | O_CLOEXEC, f->reg.mode);
	free(dir);
	if (fd < 0) {
		const char *name = is_memfd(f->path) ? f->path + 7 : "unlinked";

		fd = memfd_create(name, MFD_CLOEXEC | memfd_flags(f));
		if (fd < 0)
			return err_sys("memfd_create for unlinked %s", f->path);
	}
	if (write_full(fd, f->data[0].data, f->data[0].len, 0) < 0) {
		err_sys("write the content back");
		close(fd);
		return err_wrap("unlinked %s", f->path);
	}
	if (set_owner_mode(fd, f) < 0 || add_seals(fd, f) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A removed file that is shared object obj: that object (its memfd,
 * which the tree's mappings get too), at the file's size and mode, with
 * the seals it lacks (a memfd made for a shared object allows sealing). */
static int shmem_as_file(const struct rst_files *rf, const struct cr_file *f)
{
	int fd = files_shmem_fd(rf, (uint32_t)f->obj), seals;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return err_sys("%s: shared memory %llu: fstat", f->path,
			       (unsigned long long)f->obj);
	if ((uint64_t)st.st_size != f->reg.size && ftruncate(fd, (off_t)f->reg.size) < 0)
		return err_sys("%s: shared memory %llu: resize to %llu", f->path,
			       (unsigned long long)f->obj, (unsigned long long)f->reg.size);
	if (set_owner_mode(fd, f) < 0)
		return -1;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 && f->reg.seals)
		return err_sys("%s: F_GET_SEALS", f->path);
	if (f->reg.seals & ~(unsigned)seals &&
	    fcntl(fd, F_ADD_SEALS, (int)(f->reg.seals & ~(unsigned)seals)) < 0)
		return err_sys("%s: F_ADD_SEALS 0x%x", f->path, f->reg.seals);
	return fd;
}

/* A regular file opened with O_TMPFILE keeps O_DIRECTORY (part of that
 * flag) in its flags: opening a regular file with it fails (ENOTDIR). */
static int reg_flags(const struct cr_file *f)
{
	return open_flags(f) & ~O_DIRECTORY;
}

static int reg_open(struct rst_files *rf, uint32_t id)
{
	const struct cr_file *f = &files_rimage(rf)->files[id];
	int fd;

	if (f->reg.unlinked == CR_REG_IN_SHMEM) {
		int shm = shmem_as_file(rf, f);

		if (shm < 0)
			return -1;
		fd = files_reopen(shm, reg_flags(f));
	} else if (f->reg.unlinked) {
		int tmp = make_unlinked(files_root(rf), f);

		if (tmp < 0)
			return -1;
		fd = files_reopen(tmp, reg_flags(f));
		close(tmp);
	} else {
		fd = rst_open(files_root(rf), f->path, reg_flags(f), 0);
		if (fd < 0)
			return err_sys("open %s", f->path);
	}
	if (fd >= 0 && !(f->flags & O_PATH) && lseek(fd, (off_t)f->pos, SEEK_SET) < 0) {
		err_sys("%s: seek to %llu", f->path, (unsigned long long)f->pos);
		close(fd);
		return -1;
	}
	return fd;
}

const struct file_ops file_reg_ops = {
	.kind = CR_FILE_REG,
	.name = "regular file",
	.match = reg_match,
	.dump = reg_dump,
	.link = reg_link,
	.open = reg_open,
};

/* ---- directories ---- */

static int dir_match(const struct fd_dump *d)
{
	return S_ISDIR(d->st.st_mode);
}

static int dir_dump(struct dump_files *df, const struct fd_dump *d, struct cr_file *f)
{
	(void)df;
	if (d->link[0] != '/' || has_suffix(d->link, DELETED) ||
	    strlen(d->link) >= CR_PATH_MAX)
		return err_set("unsupported removed or unreachable directory %s", d->link);
	f->pos = 0;
	f->path = strdup(d->link);
	return f->path ? 0 : err_set("out of memory");
}

/* Directories and devices: open the path with the image's flags. */
static int path_open(struct rst_files *rf, uint32_t id)
{
	const struct cr_file *f = &files_rimage(rf)->files[id];
	int fd = rst_open(files_root(rf), f->path, open_flags(f) | (f->kind == CR_FILE_DIR ? O_DIRECTORY : 0), 0);

	return fd < 0 ? err_sys("open %s", f->path) : fd;
}

const struct file_ops file_dir_ops = {
	.kind = CR_FILE_DIR,
	.name = "directory",
	.match = dir_match,
	.dump = dir_dump,
	.open = path_open,
};

/* ---- character devices ---- */

static const struct { unsigned major, minor; const char *path; } devices[] = {
	{ 1, 3, "/dev/null" }, { 1, 5, "/dev/zero" },
	{ 1, 8, "/dev/random" }, { 1, 9, "/dev/urandom" },
};

static int dev_match(const struct fd_dump *d)
{
	return S_ISCHR(d->st.st_mode);
}

static int is_terminal(unsigned major, unsigned minor)
{
	return major == 4 || (major == 5 && minor <= 2) || (major >= 136 && major <= 143);
}

static int dev_dump(struct dump_files *df, const struct fd_dump *d, struct cr_file *f)
{
	unsigned ma = major(d->st.st_rdev), mi = minor(d->st.st_rdev);
	const char *path = NULL;

	(void)df;
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++)
		if (devices[i].major == ma && devices[i].minor == mi)
			path = devices[i].path;
	if (!path && is_terminal(ma, mi)) {
		fprintf(stderr, "picocenter: warning: pid %d fd %d: terminal %s is not "
			"carried; it is /dev/null after a restore\n", d->pid, d->fd, d->link);
		path = "/dev/null";
		f->flags &= ~(uint32_t)O_ASYNC;
		f->owner = 0;
	}
	if (!path)
		return err_set("unsupported device %s (char %u:%u)", d->link, ma, mi);
	f->pos = 0;
	f->path = strdup(path);
	return f->path ? 0 : err_set("out of memory");
}

const struct file_ops file_dev_ops = {
	.kind = CR_FILE_DEV,
	.name = "device",
	.match = dev_match,
	.dump = dev_dump,
	.open = path_open,
};

/*
 * layer.c - a box's writable layer (its overlay upper dir) as one file,
 * saved into an image at dump and unpacked into a new box when the image
 * is restored where the box does not exist (another machine, an empty box
 * dir).  The same format carries the box's /dev/shm (a tmpfs: POSIX shared
 * memory and semaphores) into a box made again (box.c).  Format,
 * little-endian:
 *
 *   "PCLAYER1"
 *   entry*: u8 kind ('d' dir, 'f' file, 'l' symlink, 'w' whiteout, 'e' end)
 *           u8 opaque (dirs: trusted.overlay.opaque), u16 0,
 *           u32 mode, u32 uid, u32 gid (as the box sees them), i64 mtime, u32 path_len, u64 data_len,
 *           path (relative, parents first), data (file content, link target)
 *
 * Hard links are stored as separate files; FIFOs, sockets and devices other
 * than whiteouts are left out.  Unpacking validates every entry and never
 * follows a symlink (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS).
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "box/box_int.h"
#include "common/err.h"

#define LAYER_MAGIC "PCLAYER1"
#define OPAQUE_XATTR "trusted.overlay.opaque"

struct entry_hdr {
	uint8_t kind, opaque;
	uint16_t pad;
	uint32_t mode, uid, gid;
	int64_t mtime;
	uint32_t path_len;
	uint64_t data_len;
} __attribute__((packed));

/* --- save --- */

/* What nftw's callback needs (it takes no argument), per thread: boxes
 * may be saved by several threads at once. */
static _Thread_local FILE *save_out;
static _Thread_local size_t save_base;
static _Thread_local const struct box *save_box;

static int put_entry(const struct entry_hdr *h, const char *path, const void *data)
{
	if (fwrite(h, sizeof(*h), 1, save_out) != 1 ||
	    fwrite(path, 1, h->path_len, save_out) != h->path_len ||
	    (h->data_len && fwrite(data, 1, h->data_len, save_out) != h->data_len))
		return err_sys("write the layer");
	return 0;
}

static int put_file(struct entry_hdr *h, const char *full, const char *rel)
{
	int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char *buf;
	int rc;

	if (fd < 0)
		return err_sys("open %s", full);
	buf = h->data_len ? malloc(h->data_len) : NULL;
	if (h->data_len && !buf) {
		close(fd);
		return err_set("out of memory for %s", full);
	}
	if (h->data_len && pread(fd, buf, h->data_len, 0) != (ssize_t)h->data_len) {
		free(buf);
		close(fd);
		return err_sys("read %s", full);
	}
	close(fd);
	rc = put_entry(h, rel, buf);
	free(buf);
	return rc;
}

static int save_one(const char *full, const struct stat *st, int flag, struct FTW *ftw)
{
	struct entry_hdr h = { 0 };
	const char *rel = full + save_base;
	char target[4096], v[4];
	ssize_t n;

	(void)flag;
	if (ftw->level == 0)
		return 0;
	h.mode = st->st_mode & 07777;
	h.uid = box_id_inside(save_box, st->st_uid);
	h.gid = box_id_inside(save_box, st->st_gid);
	h.mtime = st->st_mtime;
	h.path_len = (uint32_t)strlen(rel);
	if (S_ISDIR(st->st_mode)) {
		h.kind = 'd';
		n = lgetxattr(full, OPAQUE_XATTR, v, sizeof(v));
		h.opaque = n == 1 && v[0] == 'y';
		return put_entry(&h, rel, NULL);
	}
	if (S_ISREG(st->st_mode)) {
		h.kind = 'f';
		h.data_len = (uint64_t)st->st_size;
		return put_file(&h, full, rel);
	}
	if (S_ISLNK(st->st_mode)) {
		n = readlink(full, target, sizeof(target));
		if (n < 0 || n == sizeof(target))
			return err_sys("readlink %s", full);
		h.kind = 'l';
		h.data_len = (uint64_t)n;
		return put_entry(&h, rel, target);
	}
	if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0)) {
		h.kind = 'w';
		return put_entry(&h, rel, NULL);
	}
	return 0;
}

int box_layer_save(const struct box *b, const char *path)
{
	char upper[BOX_PATH_MAX + 8];

	snprintf(upper, sizeof(upper), "%s/upper", b->path);
	return box_tree_save(b, upper, path) < 0
		       ? err_wrap("save the writable layer of box %s", b->cfg.name) : 0;
}

int box_tree_save(const struct box *b, const char *upper, const char *path)
{
	struct entry_hdr end = { .kind = 'e' };
	int rc;

	save_out = fopen(path, "wxe");
	if (!save_out)
		return err_sys("create %s", path);
	save_base = strlen(upper) + 1;
	save_box = b;
	err_clear();
	rc = fwrite(LAYER_MAGIC, 8, 1, save_out) == 1 ? 0 : err_sys("write %s", path);
	if (rc == 0 && nftw(upper, save_one, 32, FTW_PHYS | FTW_MOUNT) != 0)
		rc = err_msg()[0] ? -1 : err_sys("walk %s", upper);
	if (rc == 0)
		rc = put_entry(&end, "", NULL);
	if (fflush(save_out) != 0 || fsync(fileno(save_out)) < 0)
		rc = rc < 0 ? rc : err_sys("write %s", path);
	fclose(save_out);
	if (rc < 0)
		unlink(path);
	return rc;
}

/* --- load --- */

static int path_ok(const char *p)
{
	const char *c = p;

	if (!*p || *p == '/')
		return 0;
	while (*c) {
		size_t n = strcspn(c, "/");

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		c += n;
		if (*c == '/')
			c++;
		if (!*c && c[-1] == '/')
			return 0;
	}
	return 1;
}

/* The parent dir of rel inside upper, no symlink followed; *base = name. */
static int open_parent(int upper, char *rel, const char **base)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
					   RESOLVE_NO_MAGICLINKS };
	char *slash = strrchr(rel, '/');
	int fd;

	if (!slash) {
		*base = rel;
		return (int)syscall(SYS_openat2, upper, ".", &how, sizeof(how));
	}
	*slash = '\0';
	*base = slash + 1;
	fd = (int)syscall(SYS_openat2, upper, rel, &how, sizeof(how));
	*slash = '/';
	return fd;
}

static int make_entry(int dir, const char *name, const struct entry_hdr *h, const char *data)
{
	int fd;

	switch (h->kind) {
	case 'd':
		if (mkdirat(dir, name, 0700) < 0 && errno != EEXIST)
			return -1;
		fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -1;
		if ((h->opaque && fsetxattr(fd, OPAQUE_XATTR, "y", 1, 0) < 0) ||
		    fchown(fd, h->uid, h->gid) < 0 || fchmod(fd, h->mode) < 0) {
			close(fd);
			return -1;
		}
		return close(fd);
	case 'f':
		fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return -1;
		if ((h->data_len && write(fd, data, h->data_len) != (ssize_t)h->data_len) ||
		    fchown(fd, h->uid, h->gid) < 0 || fchmod(fd, h->mode) < 0 ||
		    futimens(fd, (struct timespec[2]){ { 0, UTIME_OMIT }, { h->mtime, 0 } }) < 0) {
			close(fd);
			return -1;
		}
		return close(fd);
	case 'l': {
		char target[4096];

		memcpy(target, data, h->data_len);
		target[h->data_len] = '\0';
		if (symlinkat(target, dir, name) < 0)
			return -1;
		return fchownat(dir, name, h->uid, h->gid, AT_SYMLINK_NOFOLLOW);
	}
	case 'w':
		if (mknodat(dir, name, S_IFCHR | 0, makedev(0, 0)) < 0)
			return -1;
		return fchownat(dir, name, h->uid, h->gid, AT_SYMLINK_NOFOLLOW);
	}
	errno = EINVAL;
	return -1;
}

static int load_entries(const struct box *b, FILE *in, int upper, const char *path)
{
	struct entry_hdr h;
	char rel[4096], *data = NULL;
	int rc = 0;

	for (;;) {
		const char *base;
		int dir;

		if (fread(&h, sizeof(h), 1, in) != 1)
			return err_set("%s: truncated", path);
		if (h.kind == 'e')
			break;
		if (!strchr("dflw", h.kind) || !h.kind || h.path_len == 0 ||
		    h.path_len >= sizeof(rel) || (h.kind != 'f' && h.kind != 'l' && h.data_len) ||
		    (h.kind == 'l' && (h.data_len == 0 || h.data_len >= 4096)) ||
		    h.data_len > (1ULL << 34) || h.mode > 07777 || (h.opaque && h.kind != 'd'))
			return err_set("%s: bad entry", path);
		if (fread(rel, 1, h.path_len, in) != h.path_len)
			return err_set("%s: truncated", path);
		rel[h.path_len] = '\0';
		if (strlen(rel) != h.path_len || !path_ok(rel))
			return err_set("%s: bad path '%.64s'", path, rel);
		free(data);
		data = h.data_len ? malloc(h.data_len) : NULL;
		if (h.data_len && (!data || fread(data, 1, h.data_len, in) != h.data_len)) {
			rc = err_set("%s: %s: truncated", path, rel);
			break;
		}
		h.uid = box_id_outside(b, h.uid);
		h.gid = box_id_outside(b, h.gid);
		dir = open_parent(upper, rel, &base);
		if (dir < 0 || make_entry(dir, base, &h, data) < 0) {
			rc = err_sys("%s: unpack %s", path, rel);
			if (dir >= 0)
				close(dir);
			break;
		}
		close(dir);
	}
	free(data);
	return rc;
}

int box_layer_load(const struct box *b, const char *path, const char *upper)
{
	char magic[8];
	FILE *in;
	int fd, rc;

	in = fopen(path, "re");
	if (!in)
		return err_sys("open %s", path);
	fd = open(upper, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fclose(in);
		return err_sys("open %s", upper);
	}
	if (fread(magic, 8, 1, in) != 1 || memcmp(magic, LAYER_MAGIC, 8))
		rc = err_set("%s: not a picocenter layer", path);
	else
		rc = load_entries(b, in, fd, path);
	close(fd);
	fclose(in);
	return rc;
}

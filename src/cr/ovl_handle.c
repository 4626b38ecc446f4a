/*
 * ovl_handle.c - the real file behind an overlayfs file handle (see
 * ovl_handle.h).  The handle as fdinfo shows it is the kernel's struct
 * ovl_fh: 3 bytes of padding, then version 0, magic 0xfb, the length of
 * what follows the padding, flags (bit 2: the file is in the upper
 * layer), the real handle's type, the layer's uuid (16 bytes) and the
 * real handle.  The real handle is opened against the layer's directory
 * (the box's upper dir, or its lower: the host's / or its rootfs dir) and
 * the layer's prefix is cut from its path.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "box/box.h"
#include "common/err.h"
#include "cr/ovl_handle.h"

#define OVL_TYPE 0xf8              /* FILEID_OVL as fdinfo shows it */
#define OVL_PAD 3
#define OVL_HEAD 21                /* version .. uuid */
#define OVL_FLAG_UPPER 4

int ovl_handle_is(int type, const unsigned char *h, unsigned bytes)
{
	return type == OVL_TYPE && bytes >= OVL_PAD + OVL_HEAD && h[OVL_PAD] == 0 &&
	       h[OVL_PAD + 1] == 0xfb && h[OVL_PAD + 2] >= OVL_HEAD &&
	       h[OVL_PAD + 2] <= bytes - OVL_PAD;
}

/* The layer's directory as the dumper sees it, resolved. */
static int layer_dir(const struct box *b, int upper, char *out)
{
	char dir[BOX_PATH_MAX + 16];

	if (upper)
		snprintf(dir, sizeof(dir), "%s/upper", b->path);
	else
		snprintf(dir, sizeof(dir), "%s", strcmp(b->cfg.rootfs, "host") ? b->cfg.rootfs : "/");
	if (!realpath(dir, out))
		return err_sys("the box's %s layer %s", upper ? "upper" : "lower", dir);
	return 0;
}

/* Open the real handle (type, fid) against the layer dir. */
static int open_real(const char *dir, int type, const unsigned char *fid, unsigned n)
{
	struct file_handle *fh = malloc(sizeof(*fh) + n);
	int mfd, fd;

	if (!fh)
		return err_set("out of memory");
	fh->handle_bytes = n;
	fh->handle_type = type;
	memcpy(fh->f_handle, fid, n);
	mfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = mfd < 0 ? -1 : open_by_handle_at(mfd, fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		err_sys("open the real file of an overlay handle in %s", dir);
	if (mfd >= 0)
		close(mfd);
	free(fh);
	return fd;
}

/* The path of fd, with the layer dir cut off: the box's view. */
static int path_in_layer(int fd, const char *dir, char *out, size_t len)
{
	char link[64], path[PATH_MAX];
	size_t n = strcmp(dir, "/") ? strlen(dir) : 0;
	ssize_t got;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	got = readlink(link, path, sizeof(path) - 1);
	if (got < 0)
		return err_sys("readlink %s", link);
	path[got] = '\0';
	if (strncmp(path, dir, n) || (path[n] != '/' && path[n] != '\0'))
		return err_set("%s is not in the box's layer %s", path, dir);
	if ((size_t)snprintf(out, len, "%s", path[n] ? path + n : "/") >= len)
		return err_set("%s: path too long", path);
	return 0;
}

int ovl_handle_path(const struct box *b, const unsigned char *h, unsigned bytes, char *out,
		    size_t len)
{
	const unsigned char *fb = h + OVL_PAD;
	char dir[PATH_MAX];
	int upper = (fb[3] & OVL_FLAG_UPPER) != 0, fd, rc;

	if (!b)
		return err_set("an overlay file handle outside a box (unsupported)");
	if (bytes < OVL_PAD + OVL_HEAD || fb[2] < OVL_HEAD || fb[2] > bytes - OVL_PAD)
		return err_set("a malformed overlay file handle");
	if (layer_dir(b, upper, dir) < 0)
		return -1;
	fd = open_real(dir, fb[4], fb + OVL_HEAD, (unsigned)fb[2] - OVL_HEAD);
	if (fd < 0)
		return -1;
	rc = path_in_layer(fd, dir, out, len);
	close(fd);
	return rc;
}

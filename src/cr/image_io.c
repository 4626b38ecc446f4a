/*
 * image_io.c - the image's public entry points (image.h): a struct cr_image
 * checked, encoded and written to DIR/manifest atomically (a temporary
 * file, fsync, rename, fsync of DIR), read back whole within the size
 * limit, or parsed from a buffer, then decoded and checked (image_int.h:
 * image_codec.c, image_check.c).
 */
#include <stddef.h>   /* before image.h, which uses size_t without it */
#include "cr/image.h"
#include "cr/image_int.h"
#include "common/err.h"
#include "common/io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST_MAX    (1u << 30)
#define MANIFEST_NAME   "manifest"

/* ---- File I/O ---- */

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return err_sys("open directory %s", dir);
	if (fsync(fd)) {
		err_sys("fsync directory %s", dir);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int manifest_path(char *out, size_t size, const char *dir,
			 const char *suffix)
{
	int n = snprintf(out, size, "%s/" MANIFEST_NAME "%s", dir, suffix);

	if (n < 0 || (size_t)n >= size)
		return err_set("directory path too long: %s", dir);
	return 0;
}

/* Write DIR/manifest.tmp, fsync it, rename it over DIR/manifest, fsync DIR. */
static int write_atomic(const char *dir, const uint8_t *buf, size_t len)
{
	char tmp[PATH_MAX], final[PATH_MAX];
	int fd;

	if (manifest_path(tmp, sizeof(tmp), dir, ".tmp") ||
	    manifest_path(final, sizeof(final), dir, ""))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys("create %s", tmp);
	if ((write_full(fd, buf, len, -1) < 0 && err_sys("write %s", tmp)) ||
	    (fsync(fd) && err_sys("fsync %s", tmp))) {
		close(fd);
		goto fail;
	}
	if (close(fd)) {
		err_sys("close %s", tmp);
		goto fail;
	}
	if (rename(tmp, final)) {
		err_sys("rename %s to %s", tmp, final);
		goto fail;
	}
	return fsync_dir(dir);
fail:
	unlink(tmp);
	return -1;
}

static int read_fully(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys("read");
		if (n == 0)
			return err_set("file shrank while read (%zu of %zu bytes)",
				       got, len);
		got += (size_t)n;
	}
	return 0;
}

static int read_file(const char *path, uint8_t **out, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = -1;

	*out = NULL;
	if (fd < 0)
		return err_sys("open");
	if (fstat(fd, &st)) {
		err_sys("fstat");
	} else if (!S_ISREG(st.st_mode)) {
		err_set("not a regular file");
	} else if ((uint64_t)st.st_size > MANIFEST_MAX) {
		err_set("%lld bytes, above the %u-byte limit",
			(long long)st.st_size, MANIFEST_MAX);
	} else if (!(*out = malloc((size_t)st.st_size + 1))) {
		err_sys("malloc %lld", (long long)st.st_size);
	} else if (read_fully(fd, *out, (size_t)st.st_size)) {
		free(*out);
		*out = NULL;
	} else {
		*len = (size_t)st.st_size;
		rc = 0;
	}
	close(fd);
	return rc;
}

/* ---- Public entry points ---- */

int cr_image_write(const struct cr_image *img, const char *dir)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if (image_check(img))
		return err_wrap("write manifest: invalid image");
	rc = image_encode(img, &buf, &len);
	if (rc)
		err_wrap("write manifest");
	else
		rc = write_atomic(dir, buf, len);
	free(buf);
	return rc;
}

/* Parse without the "manifest" context prefix. */
static int parse(const void *buf, size_t len, struct cr_image *out)
{
	struct cr_image img;

	memset(out, 0, sizeof(*out));
	memset(&img, 0, sizeof(img));
	if (image_decode(buf, len, &img) || image_check(&img)) {
		cr_image_free(&img);
		return -1;
	}
	img.version = CR_IMAGE_VERSION;
	*out = img;
	return 0;
}

int cr_image_parse(const void *buf, size_t len, struct cr_image *img)
{
	if (parse(buf, len, img))
		return err_wrap("manifest");
	return 0;
}

int cr_image_read(const char *dir, struct cr_image *img)
{
	char path[PATH_MAX];
	uint8_t *buf;
	size_t len = 0;
	int rc;

	memset(img, 0, sizeof(*img));
	if (manifest_path(path, sizeof(path), dir, ""))
		return err_wrap("manifest");
	if (read_file(path, &buf, &len))
		return err_wrap("manifest %s", path);
	rc = parse(buf, len, img);
	free(buf);
	if (rc)
		return err_wrap("manifest %s", path);
	return 0;
}

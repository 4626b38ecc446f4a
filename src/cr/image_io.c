/*
 * image_io.c - the manifest file of an image directory: DIR/manifest
 * written atomically (a temporary file, fsync, rename, fsync of DIR) and
 * read back whole, within the size limit (image_int.h).
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

int image_manifest_path(char *out, size_t size, const char *dir,
			const char *suffix)
{
	int n = snprintf(out, size, "%s/" MANIFEST_NAME "%s", dir, suffix);

	if (n < 0 || (size_t)n >= size)
		return err_set("directory path too long: %s", dir);
	return 0;
}

/* Write DIR/manifest.tmp, fsync it, rename it over DIR/manifest, fsync DIR. */
int image_write_atomic(const char *dir, const uint8_t *buf, size_t len)
{
	char tmp[PATH_MAX], final[PATH_MAX];
	int fd;

	if (image_manifest_path(tmp, sizeof(tmp), dir, ".tmp") ||
	    image_manifest_path(final, sizeof(final), dir, ""))
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

int image_read_file(const char *path, uint8_t **out, size_t *len)
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

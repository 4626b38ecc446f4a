/*
 * localcopy.c - the local copy of what a restore from the store needs
 * before anything else (docs/store.md, "Local copy"): one file per image,
 * DIR/NAME.copy, written by a put once it committed, holding the committed
 * store manifest and the plain bytes of every file of the generation but
 * the pages of its paged file (the small files and the page index).  A
 * restore asked for the generation it holds reads them from here instead
 * of the store: no manifest GET, and the pages due first (the manifest's
 * `r` lines) are requested at once.
 *
 * The copy is input like anything the store hands back: its framing, the
 * manifest's own checksum, image name and generation, and a CRC-32C of
 * everything after the header, computed when the copy was written, are
 * checked before any of it is used (the manifest names every chunk's
 * SHA-256, but this machine wrote the copy from bytes it had checked or
 * made: the CRC detects damage since, at a fraction of the cost of
 * hashing every chunk again); a copy that fails is reported and the
 * caller reads the store instead.
 *
 * Layout (version 2): "PCLCOPY2", the manifest's length (u64 little
 * endian), the CRC-32C of every byte after this 24-byte header (u32), a
 * zero u32, the manifest, then for each file of the manifest in order its
 * chunks' plain bytes (mfile_chunk_bytes: the file, or a paged file's
 * index), each file starting at a multiple of 8 (zeros between), so that
 * a page index is read in place.  Version 1 copies (no CRC, hashed chunk
 * by chunk) are not read: a restore reads the store instead, once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "store/internal.h"

#define LC_MAGIC "PCLCOPY2"
#define LC_HEAD 24u

static uint64_t align_up(uint64_t off)
{
	return (off + LOCALCOPY_ALIGN - 1) / LOCALCOPY_ALIGN * LOCALCOPY_ALIGN;
}

size_t localcopy_next(size_t at, const struct mfile *f)
{
	return (size_t)align_up(at + mfile_chunk_bytes(f));
}

static int copy_path(const char *dir, const char *name, const char *suffix, char *out,
		     size_t len)
{
	if (image_name_check(name) < 0)
		return -1;
	if ((size_t)snprintf(out, len, "%s/%s.copy%s", dir, name, suffix) >= len)
		return err_set("local copy path %s/%s too long", dir, name);
	return 0;
}

/* The copy's length for a manifest of tlen bytes; 0 with an error when its
 * files hold too many bytes. */
static int copy_len(const struct manifest *m, uint64_t tlen, uint64_t *total)
{
	uint64_t files = 0, at = LC_HEAD + tlen;   /* padded before each file only */

	*total = 0;
	for (size_t i = 0; i < m->nfiles; i++) {
		files += mfile_chunk_bytes(&m->files[i]);
		if (files > LOCALCOPY_MAX)
			return err_set("more than %u bytes", LOCALCOPY_MAX);
		at = align_up(at) + mfile_chunk_bytes(&m->files[i]);
	}
	*total = at;
	return 0;
}

/* ---- writing ---- */

static const uint8_t zeros[LOCALCOPY_ALIGN];

/* Write n bytes at *off (after zero padding up to pad_to) and fold them
 * into *crc. */
static int write_part(int fd, const char *tmp, const void *p, uint64_t n, uint64_t pad_to,
		      uint64_t *off, uint32_t *crc)
{
	if (pad_to > *off) {
		*crc = crc32c_update(*crc, zeros, (size_t)(pad_to - *off), 0);
		*off = pad_to;   /* the hole reads as zeros */
	}
	if (n && write_full(fd, p, (size_t)n, (off_t)*off) < 0)
		return err_sys("write %s", tmp);
	*crc = crc32c_update(*crc, p, (size_t)n, 0);
	*off += n;
	return 0;
}

static int write_all(const char *tmp, const uint8_t *text, size_t tlen,
		     const struct manifest *m, const uint8_t *const *files, uint64_t total)
{
	uint8_t head[LC_HEAD] = { 0 };
	uint64_t off = LC_HEAD;
	uint32_t crc = 0;
	int fd, rc;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys("create %s", tmp);
	rc = write_part(fd, tmp, text, tlen, off, &off, &crc);
	for (size_t i = 0; rc == 0 && i < m->nfiles; i++)
		rc = write_part(fd, tmp, files[i], mfile_chunk_bytes(&m->files[i]),
				align_up(off), &off, &crc);
	memcpy(head, LC_MAGIC, 8);
	le_put(head + 8, tlen, 8);
	le_put(head + 16, crc, 4);
	if (rc == 0 && off != total)
		rc = err_set("wrote %llu bytes of %llu", (unsigned long long)off,
			     (unsigned long long)total);
	if (rc == 0 && write_full(fd, head, LC_HEAD, 0) < 0)
		rc = err_sys("write %s", tmp);
	if (rc == 0 && ftruncate(fd, (off_t)total) < 0)
		rc = err_sys("truncate %s", tmp);
	if (close(fd) < 0 && rc == 0)
		rc = err_sys("close %s", tmp);
	return rc;
}

int localcopy_write(const char *dir, const struct manifest *m, const uint8_t *text,
		    size_t tlen, const uint8_t *const *files)
{
	char path[4200], tmp[4300];
	uint64_t total;
	int rc;

	if (copy_path(dir, m->image, "", path, sizeof(path)) < 0 ||
	    copy_path(dir, m->image, ".tmp", tmp, sizeof(tmp)) < 0)
		return -1;
	if (copy_len(m, tlen, &total) < 0 || mkdir_p(dir) < 0) {
		unlink(path);   /* an older copy would only be rejected later */
		return err_wrap("local copy %s", path);
	}
	rc = write_all(tmp, text, tlen, m, files, total);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = err_sys("rename %s", tmp);
	if (rc < 0) {
		unlink(tmp);
		unlink(path);
	}
	return rc;
}

/* ---- reading ---- */

int localcopy_check(const uint8_t *data, size_t len)
{
	if (len < LC_HEAD)
		return err_set("not a local copy (too short)");
	if (crc32c(data + LC_HEAD, len - LC_HEAD) != (uint32_t)le_get(data + 16, 4))
		return err_set("checksum mismatch (the copy is damaged)");
	return 0;
}

/* The framing and the manifest (its checksum, name, generation, and the
 * copy's length); not the copy's checksum. */
static int parse_head(const uint8_t *data, size_t len, const char *name, uint64_t gen,
		      struct manifest *m, size_t *files_at)
{
	uint64_t tlen, total;

	memset(m, 0, sizeof(*m));
	if (len < LC_HEAD || memcmp(data, LC_MAGIC, 8))
		return err_set("not a local copy (bad magic, or an older version)");
	tlen = le_get(data + 8, 8);
	if (tlen > len - LC_HEAD || le_get(data + 20, 4) != 0)
		return err_set("bad header (manifest of %llu bytes in a copy of %zu)",
			       (unsigned long long)tlen, len);
	if (manifest_parse(data + LC_HEAD, (size_t)tlen, m) < 0)
		return -1;
	if (strcmp(m->image, name) || m->generation != gen) {
		err_set("holds generation %llu of image %s, not %llu of %s",
			(unsigned long long)m->generation, m->image, (unsigned long long)gen,
			name);
		manifest_free(m);
		return -1;
	}
	*files_at = (size_t)align_up(LC_HEAD + tlen);
	if (*files_at > len)
		*files_at = len;        /* no file: nothing after the manifest */
	if (copy_len(m, tlen, &total) < 0 || total != len) {
		if (total)   /* else copy_len said why */
			err_set("%zu bytes, the manifest says %llu", len,
				(unsigned long long)total);
		manifest_free(m);
		return -1;
	}
	return 0;
}

int localcopy_parse(const uint8_t *data, size_t len, const char *name, uint64_t gen,
		    struct manifest *m, size_t *files_at)
{
	if (parse_head(data, len, name, gen, m, files_at) < 0)
		return -1;
	if (localcopy_check(data, len) < 0) {
		manifest_free(m);
		return -1;
	}
	return 0;
}

/* The copy at path, mapped read only and read in at once (a copy is
 * replaced by a rename, never written in place). */
static int map_copy(const char *path, uint8_t **data, size_t *len)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 1 : err_sys("open local copy %s", path);
	if (fstat(fd, &st) < 0) {
		close(fd);
		return err_sys("stat local copy %s", path);
	}
	if (st.st_size < LC_HEAD || (uint64_t)st.st_size > LOCALCOPY_MAX + (1u << 20)) {
		close(fd);
		return err_set("local copy %s: %lld bytes", path, (long long)st.st_size);
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE,
		 fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return err_sys("map local copy %s", path);
	*data = p;
	*len = (size_t)st.st_size;
	return 0;
}

void localcopy_unmap(uint8_t *data, size_t len)
{
	if (data)
		munmap(data, len);
}

int localcopy_load(const char *dir, const char *name, uint64_t gen, struct manifest *m,
		   uint8_t **data, size_t *len, size_t *files_at)
{
	char path[4200];
	int rc;

	*data = NULL;
	*len = 0;
	if (copy_path(dir, name, "", path, sizeof(path)) < 0)
		return -1;
	rc = map_copy(path, data, len);
	if (rc != 0)
		return rc;
	if (parse_head(*data, *len, name, gen, m, files_at) < 0) {
		localcopy_unmap(*data, *len);
		*data = NULL;
		return err_wrap("local copy %s", path);
	}
	return 0;
}

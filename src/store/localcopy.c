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
 * manifest's own checksum, image name and generation, and every chunk's
 * SHA-256 against the manifest are checked before any of it is used; a
 * copy that fails is reported and the caller reads the store instead.
 *
 * Layout: "PCLCOPY1", the manifest's length (u64 little endian), the
 * manifest, then for each file of the manifest in order its chunks'
 * plain bytes (mfile_chunk_bytes: the file, or a paged file's index).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "store/internal.h"

#define LC_MAGIC "PCLCOPY1"
#define LC_HEAD 16u

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
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

/* Bytes of every file's chunks; 0 with an error when too many. */
static int files_bytes(const struct manifest *m, uint64_t *total)
{
	*total = 0;
	for (size_t i = 0; i < m->nfiles; i++) {
		*total += mfile_chunk_bytes(&m->files[i]);
		if (*total > LOCALCOPY_MAX)
			return err_set("more than %u bytes", LOCALCOPY_MAX);
	}
	return 0;
}

/* ---- writing ---- */

static int write_all(const char *tmp, const uint8_t *text, size_t tlen,
		     const struct manifest *m, const uint8_t *const *files)
{
	uint8_t head[LC_HEAD];
	uint64_t off;
	int fd, rc = 0;

	memcpy(head, LC_MAGIC, 8);
	put_u64(head + 8, tlen);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys("create %s", tmp);
	if (write_full(fd, head, LC_HEAD, 0) < 0 || write_full(fd, text, tlen, LC_HEAD) < 0)
		rc = err_sys("write %s", tmp);
	off = LC_HEAD + tlen;
	for (size_t i = 0; rc == 0 && i < m->nfiles; i++) {
		uint64_t n = mfile_chunk_bytes(&m->files[i]);

		if (n && write_full(fd, files[i], (size_t)n, (off_t)off) < 0)
			rc = err_sys("write %s", tmp);
		off += n;
	}
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
	if (files_bytes(m, &total) < 0 || mkdir_p(dir) < 0) {
		unlink(path);   /* an older copy would only be rejected later */
		return err_wrap("local copy %s", path);
	}
	rc = write_all(tmp, text, tlen, m, files);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = err_sys("rename %s", tmp);
	if (rc < 0) {
		unlink(tmp);
		unlink(path);
	}
	return rc;
}

/* ---- reading ---- */

int localcopy_check_files(const uint8_t *files, const struct manifest *m)
{
	uint64_t off = 0;

	for (size_t i = 0; i < m->nfiles; i++)
		for (size_t j = 0; j < m->files[i].nchunks; j++) {
			const struct mchunk *c = &m->files[i].chunks[j];
			uint8_t h[HASH_LEN];

			if (chunk_hash(files + off, (size_t)c->len, h) < 0)
				return -1;
			if (memcmp(h, c->hash, HASH_LEN))
				return err_set("file %s, chunk %zu: hash mismatch", m->files[i].name,
					       j);
			off += c->len;
		}
	return 0;
}

/* The framing and the manifest (its checksum, name, generation, and the
 * files' total length); not the files' hashes. */
static int parse_head(const uint8_t *data, size_t len, const char *name, uint64_t gen,
		      struct manifest *m, size_t *files_at)
{
	uint64_t tlen, total;

	memset(m, 0, sizeof(*m));
	if (len < LC_HEAD || memcmp(data, LC_MAGIC, 8))
		return err_set("not a local copy (bad magic)");
	tlen = get_u64(data + 8);
	if (tlen > len - LC_HEAD)
		return err_set("manifest of %llu bytes in a copy of %zu",
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
	*files_at = LC_HEAD + (size_t)tlen;
	if (files_bytes(m, &total) < 0 || total != len - *files_at) {
		if (total <= LOCALCOPY_MAX)
			err_set("%zu bytes of files, the manifest says %llu", len - *files_at,
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
	if (localcopy_check_files(data + *files_at, m) < 0) {
		manifest_free(m);
		return -1;
	}
	return 0;
}

int localcopy_load(const char *dir, const char *name, uint64_t gen, struct manifest *m,
		   uint8_t **data, size_t *files_at)
{
	char path[4200], *buf;
	ssize_t len;

	*data = NULL;
	if (copy_path(dir, name, "", path, sizeof(path)) < 0)
		return -1;
	len = read_whole(path, LOCALCOPY_MAX + (1u << 20), &buf);
	if (len < 0 && errno == ENOENT)
		return 1;
	if (len < 0)
		return err_sys("read local copy %s", path);
	*data = (uint8_t *)buf;
	if (parse_head(*data, (size_t)len, name, gen, m, files_at) < 0) {
		free(*data);
		*data = NULL;
		return err_wrap("local copy %s", path);
	}
	return 0;
}

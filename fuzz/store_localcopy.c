/*
 * store_localcopy.c - libFuzzer target for the local copy's parser
 * (localcopy_parse, src/store/localcopy.c).
 *
 * Input: a store manifest, a NUL byte, then the files' bytes.  Three
 * parses: the input itself as a copy (image "app-1", generation 1); a copy
 * made of the manifest with its checksum line made right and the files'
 * bytes (and the copy's CRC right); and, when that manifest parses and the
 * bytes are enough, a copy whose manifest names the real hashes of those
 * bytes, laid out file by file, which must be accepted and give back the
 * same manifest.  A rejected parse must leave
 * the manifest zeroed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "seal.h"

static void parse_once(const uint8_t *copy, size_t len, const char *name, uint64_t gen,
		       int must)
{
	static const struct manifest zero;
	struct manifest m;
	size_t at;

	memset(&m, 0x5a, sizeof(m));
	if (localcopy_parse(copy, len, name, gen, &m, &at) < 0) {
		if (must || memcmp(&m, &zero, sizeof(m)))
			abort();
		return;
	}
	if (at > len || strcmp(m.image, name) || m.generation != gen)
		abort();
	manifest_free(&m);
}

static int pad8(struct buf *out)
{
	static const uint8_t zeros[8];

	return out->len % 8 ? buf_append(out, zeros, 8 - out->len % 8) : 0;
}

/* A version 2 copy: the header, the manifest, then the files' bytes,
 * laid out file by file (each at a multiple of 8) when m is given, else
 * in one piece. */
static int make_copy(const uint8_t *text, size_t tlen, const uint8_t *files, size_t flen,
		     const struct manifest *m, struct buf *out)
{
	uint8_t head[24] = { 0 };
	uint32_t crc;
	size_t off = 0;
	int rc;

	memcpy(head, "PCLCOPY2", 8);
	for (int i = 0; i < 8; i++)
		head[8 + i] = (uint8_t)((uint64_t)tlen >> (8 * i));
	rc = buf_append(out, head, 24) < 0 || buf_append(out, text, tlen) < 0 ? -1 : 0;
	for (size_t i = 0; rc == 0 && m && i < m->nfiles; i++) {
		size_t n = (size_t)mfile_chunk_bytes(&m->files[i]);

		rc = pad8(out) < 0 || buf_append(out, files + off, n) < 0 ? -1 : 0;
		off += n;
	}
	if (rc == 0 && !m)
		rc = pad8(out) < 0 || buf_append(out, files, flen) < 0 ? -1 : 0;
	if (rc < 0)
		return -1;
	crc = crc32c(out->data + 24, out->len - 24);
	for (int i = 0; i < 4; i++)
		out->data[16 + i] = (uint8_t)(crc >> (8 * i));
	return 0;
}

/* m's chunks named by the hashes of files' bytes: a copy that must pass. */
static void rehashed(struct manifest *m, const uint8_t *files, size_t flen)
{
	struct buf text = { 0 }, copy = { 0 };
	uint64_t off = 0;

	for (size_t i = 0; i < m->nfiles; i++)
		for (size_t j = 0; j < m->files[i].nchunks; j++) {
			struct mchunk *c = &m->files[i].chunks[j];

			if (c->len > flen - off)
				return;
			if (chunk_hash(files + off, (size_t)c->len, c->hash) < 0)
				abort();
			off += c->len;
		}
	if (off > LOCALCOPY_MAX)
		return;
	if (manifest_format(m, &text) < 0 ||
	    make_copy(text.data, text.len, files, (size_t)off, m, &copy) < 0)
		abort();
	parse_once(copy.data, copy.len, m->image, m->generation, 1);
	buf_free(&text);
	buf_free(&copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t tlen = nul ? (size_t)(nul - data) : size;
	const uint8_t *files = nul ? nul + 1 : data + size;
	size_t flen = nul ? size - tlen - 1 : 0;
	struct buf sealed = { 0 }, copy = { 0 };
	struct manifest m;

	parse_once(data, size, "app-1", 1, 0);
	if (fuzz_seal(data, tlen, &sealed) < 0 ||
	    make_copy(sealed.data, sealed.len, files, flen, NULL, &copy) < 0)
		abort();
	parse_once(copy.data, copy.len, "app-1", 1, 0);
	if (manifest_parse(sealed.data, sealed.len, &m) == 0) {
		parse_once(copy.data, copy.len, m.image, m.generation, 0);
		rehashed(&m, files, flen);
		manifest_free(&m);
	}
	buf_free(&sealed);
	buf_free(&copy);
	return 0;
}

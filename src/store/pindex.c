/*
 * pindex.c - the page index of a paged file (binary, little endian):
 *
 *   "PCPIDX1\n"
 *   per page, in file order (as many as the file has pages): SHA-256 (32 bytes), u32 pack number (in the
 *   file's pack table), u32 offset and u32 length of the page's encoding
 *   (a chunk encoding: format byte + payload) in that pack.
 *
 * The index is stored in chunks of whole entries (pindex_chunk_len) named
 * by the manifest; it is validated whole against the manifest's file line and
 * pack table before any of it is used.  An entry's bytes are a struct
 * pentry on a little endian machine: a parse checks the entries where they
 * lie (pindex_adopt) or copies them first (pindex_parse), so a 1 GB file's
 * 11.5 MB index costs one pass over its pack fields, not a decode.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/internal.h"

uint64_t pindex_size(uint64_t npages)
{
	return PINDEX_HEAD + npages * PINDEX_ENTRY;
}

/* Entries per index chunk for a file of n pages. */
static uint64_t chunk_entries(uint64_t npages)
{
	uint64_t e = PINDEX_CHUNK_MIN;

	while (e < PINDEX_CHUNK_MAX && e * PINDEX_CHUNKS < npages)
		e *= 2;
	return e;
}

uint64_t pindex_chunk_len(uint64_t npages, uint64_t off)
{
	uint64_t size = pindex_size(npages), bytes = chunk_entries(npages) * PINDEX_ENTRY;
	uint64_t end = off < PINDEX_HEAD + bytes ? PINDEX_HEAD + bytes : off + bytes;

	return (end < size ? end : size) - off;
}

_Static_assert(sizeof(struct pentry) == PINDEX_ENTRY, "an index entry is a struct pentry");

void pindex_free(struct pindex *ix)
{
	free(ix->mem);
	free(ix->page);
	ix->mem = NULL;
	ix->e = NULL;
	ix->page = NULL;
	ix->n = 0;
}

void pack_key(const uint8_t h[HASH_LEN], char out[PACK_KEY_MAX])
{
	char hex[HASH_HEX];

	hash_hex(h, hex);
	memcpy(out, "packs/", 6);
	out[6] = hex[0];
	out[7] = hex[1];
	out[8] = '/';
	memcpy(out + 9, hex, HASH_HEX);
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int pindex_format(const struct pentry *e, size_t n, struct buf *out)
{
	uint8_t *p;

	out->len = 0;
	if (buf_reserve(out, (size_t)pindex_size(n)) < 0)
		return -1;
	p = out->data;
	memcpy(p, PINDEX_MAGIC, PINDEX_HEAD);
	p += PINDEX_HEAD;
	for (size_t i = 0; i < n; i++, p += PINDEX_ENTRY) {
		memcpy(p, e[i].hash, HASH_LEN);
		put_le(p + 32, e[i].pack, 4);
		put_le(p + 36, e[i].off, 4);
		put_le(p + 40, e[i].len, 4);
	}
	out->len = (size_t)pindex_size(n);
	return 0;
}

int pentry_check(const struct pentry *e, const struct mfile *f, size_t i)
{
	if (e->pack >= f->npacks)
		return err_set("page %zu: pack %u of %zu", i, e->pack, f->npacks);
	if (e->len < 2 || e->len > PAGE_ENC_MAX)
		return err_set("page %zu: bad length %u", i, e->len);
	if ((uint64_t)e->off + e->len > f->packs[e->pack].size)
		return err_set("page %zu: %u+%u is outside pack %u (%llu bytes)", i, e->off,
			       e->len, e->pack, (unsigned long long)f->packs[e->pack].size);
	return 0;
}

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
static uint64_t get_le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;

	for (int i = bytes - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}
#endif

/* The entries' u32 fields in this machine's byte order (in place). */
static void entries_from_le(struct pentry *e, size_t n)
{
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = (uint8_t *)&e[i];

		e[i].pack = (uint32_t)get_le(p + 32, 4);
		e[i].off = (uint32_t)get_le(p + 36, 4);
		e[i].len = (uint32_t)get_le(p + 40, 4);
	}
#else
	(void)e;
	(void)n;
#endif
}

/* The framing: n pages' entries follow the magic. */
static int check_frame(const uint8_t *data, size_t len, const struct mfile *f, uint64_t n)
{
	if (!f->paged || f->size % STORE_PAGE)
		return err_set("page index of %s: not a paged file", f->name);
	if (len < PINDEX_HEAD || memcmp(data, PINDEX_MAGIC, PINDEX_HEAD) != 0)
		return err_set("page index of %s: bad magic (or unknown version)", f->name);
	if (len != pindex_size(n))
		return err_set("page index of %s: %zu bytes, want %llu for %llu pages",
			       f->name, len, (unsigned long long)pindex_size(n),
			       (unsigned long long)n);
	return 0;
}

static int check_entries(const struct pentry *e, size_t n, const struct mfile *f)
{
	for (size_t i = 0; i < n; i++)
		if (pentry_check(&e[i], f, i) < 0)
			return err_wrap("page index of %s", f->name);
	return 0;
}

int pindex_adopt(const uint8_t *data, size_t len, const struct mfile *f, void *mem,
		 struct pindex *out)
{
	uint64_t n = f->size / STORE_PAGE;
	const struct pentry *e = (const struct pentry *)(const void *)(data + PINDEX_HEAD);

	memset(out, 0, sizeof(*out));
	if (check_frame(data, len, f, n) < 0)
		return -1;
	if (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__ ||
	    (uintptr_t)e % _Alignof(struct pentry)) {   /* not in place: a copy */
		if (pindex_parse(data, len, f, out) < 0)
			return -1;
		free(mem);
		return 0;
	}
	if (check_entries(e, (size_t)n, f) < 0)
		return -1;
	out->e = (struct pentry *)e;   /* read only: nobody writes a parsed index */
	out->n = (size_t)n;
	out->mem = mem;
	return 0;
}

int pindex_parse(const uint8_t *data, size_t len, const struct mfile *f,
		 struct pindex *out)
{
	uint64_t n = f->size / STORE_PAGE;
	struct pentry *e;

	memset(out, 0, sizeof(*out));
	if (check_frame(data, len, f, n) < 0)
		return -1;
	if (!(e = malloc(n ? (size_t)n * sizeof(*e) : 1)))
		return err_set("out of memory");
	if (n)
		memcpy(e, data + PINDEX_HEAD, (size_t)n * sizeof(*e));
	entries_from_le(e, (size_t)n);
	if (check_entries(e, (size_t)n, f) < 0) {
		free(e);
		return -1;
	}
	out->e = out->mem = e;
	out->n = (size_t)n;
	return 0;
}

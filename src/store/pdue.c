/*
 * pdue.c - the map of the pages due first of a paged file: where each page
 * that the file's runs of pages due first hold (its manifest's `r` lines)
 * lies, and its hash, for exactly those pages.  A restore reads this map
 * instead of the whole page index before the tree resumes (a 1 GB file's
 * index is 11.5 MB, the map of a 10 MB working set 120 KB) and the index
 * only when it fetches a page outside the runs.  It is stored as a plain
 * file of the image, STORE_PAGED_FILE STORE_DUE_SUFFIX ("pages.due"),
 * which the put derives from the index and the runs (binary, little
 * endian, version 2):
 *
 *   "PCPDUE2\n", u64 count,
 *   the index's id: SHA-256 of the SHA-256s of the index's chunks, in
 *   order (as the manifest names them),
 *   count x u32 page number (strictly increasing, inside the file),
 *   count x entry as in the page index (pindex.c: SHA-256, u32 pack,
 *   u32 offset, u32 length; 44 bytes).
 *
 * It is input like the index: validated whole against the file's page
 * count and pack table before any of it is used, and it must name the
 * very index of the generation read: a map that came with other files
 * (a directory that `store get` wrote, stored again by a build that does
 * not know the map) could otherwise put in pages of another generation,
 * whose bytes do match the hashes it gives.  A build that does not
 * know the map restores the image all the same (it is one more small
 * file, which it fetches and ignores); a map with another magic is not
 * used, and the restore reads the index as without one.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/internal.h"

#define PDUE_MAGIC "PCPDUE2\n"
#define PDUE_HEAD (16u + HASH_LEN)   /* the magic, the count, the index's id */
#define PDUE_ENTRY (4u + PINDEX_ENTRY)

static void put_entry(uint8_t *p, const struct pentry *e)
{
	memcpy(p, e->hash, HASH_LEN);
	le_put(p + 32, e->pack, 4);
	le_put(p + 36, e->off, 4);
	le_put(p + 40, e->len, 4);
}

static void get_entry(const uint8_t *p, struct pentry *e)
{
	memcpy(e->hash, p, HASH_LEN);
	e->pack = (uint32_t)le_get(p + 32, 4);
	e->off = (uint32_t)le_get(p + 36, 4);
	e->len = (uint32_t)le_get(p + 40, 4);
}

/* SHA-256 over n chunk hashes h[0..n). */
static int id_of(const uint8_t (*h)[HASH_LEN], size_t n, uint8_t id[HASH_LEN])
{
	return chunk_hash(n ? (const void *)h : "", n * HASH_LEN, id);
}

int pdue_index_id(const struct mfile *f, uint8_t id[HASH_LEN])
{
	uint8_t (*h)[HASH_LEN] = malloc((f->nchunks ? f->nchunks : 1) * HASH_LEN);
	int rc;

	if (!h)
		return err_set("out of memory");
	for (size_t j = 0; j < f->nchunks; j++)
		memcpy(h[j], f->chunks[j].hash, HASH_LEN);
	rc = id_of((const uint8_t (*)[HASH_LEN])h, f->nchunks, id);
	free(h);
	return rc;
}

/* The id of the index whose bytes are index (cut into chunks as a put
 * cuts it, pindex_chunk_len). */
static int id_of_bytes(const struct buf *index, uint8_t id[HASH_LEN])
{
	uint64_t npages = (index->len - PINDEX_HEAD) / PINDEX_ENTRY;
	size_t n = 0, cap = 16;
	uint8_t (*h)[HASH_LEN] = malloc(cap * HASH_LEN);
	int rc = h ? 0 : err_set("out of memory");

	for (uint64_t off = 0; rc == 0 && off < index->len; n++) {
		uint64_t len = pindex_chunk_len(npages, off);

		if (n == cap) {
			uint8_t (*nh)[HASH_LEN] = realloc(h, (cap *= 2) * HASH_LEN);

			if (!nh) {
				rc = err_set("out of memory");
				break;
			}
			h = nh;
		}
		rc = chunk_hash(index->data + off, (size_t)len, h[n]);
		off += len;
	}
	if (rc == 0)
		rc = id_of((const uint8_t (*)[HASH_LEN])h, n, id);
	free(h);
	return rc;
}

int pdue_format(const struct pindex *ix, const uint8_t id[HASH_LEN], struct buf *out)
{
	uint8_t *p;
	size_t size = PDUE_HEAD + ix->n * (size_t)PDUE_ENTRY;

	out->len = 0;
	if (buf_reserve(out, size) < 0)
		return -1;
	p = out->data;
	memcpy(p, PDUE_MAGIC, 8);
	le_put(p + 8, ix->n, 8);
	memcpy(p + 16, id, HASH_LEN);
	for (size_t k = 0; k < ix->n; k++)
		le_put(p + PDUE_HEAD + 4 * k, pindex_page(ix, k), 4);
	p += PDUE_HEAD + 4 * ix->n;
	for (size_t k = 0; k < ix->n; k++, p += PINDEX_ENTRY)
		put_entry(p, &ix->e[k]);
	out->len = size;
	return 0;
}

int pdue_build(const struct mfile *f, const struct pindex *ix, const struct buf *index,
	       struct buf *out)
{
	struct pindex due = { 0 };
	uint8_t id[HASH_LEN];
	size_t n = 0;
	int rc;

	if (index->len < PINDEX_HEAD || id_of_bytes(index, id) < 0)
		return err_set("no page index to make the map of the pages due first for");
	for (size_t i = 0; i < ix->n; i++)
		n += pages_in_run(f, &ix->e[i]);
	due.e = malloc((n ? n : 1) * sizeof(*due.e));
	due.page = malloc((n ? n : 1) * sizeof(*due.page));
	if (!due.e || !due.page) {
		free(due.e);
		free(due.page);
		return err_set("out of memory");
	}
	for (size_t i = 0; i < ix->n; i++)
		if (pages_in_run(f, &ix->e[i])) {
			due.e[due.n] = ix->e[i];
			due.page[due.n++] = (uint32_t)i;
		}
	rc = pdue_format(&due, id, out);
	free(due.e);
	free(due.page);
	return rc;
}

/* The framing: count entries, the file's pages at most. */
static int check_frame(const uint8_t *data, size_t len, const struct mfile *f, uint64_t *n)
{
	uint8_t id[HASH_LEN];

	if (!f->paged || f->size % STORE_PAGE)
		return err_set("not a paged file");
	if (len < PDUE_HEAD || memcmp(data, PDUE_MAGIC, 8))
		return err_set("bad magic (or unknown version)");
	if (pdue_index_id(f, id) < 0)
		return -1;
	if (memcmp(data + 16, id, HASH_LEN))
		return err_set("made for another page index");
	*n = le_get(data + 8, 8);
	if (*n > f->size / STORE_PAGE || len != PDUE_HEAD + *n * PDUE_ENTRY)
		return err_set("%zu bytes for %llu entries", len, (unsigned long long)*n);
	return 0;
}

int pdue_parse(const uint8_t *data, size_t len, const struct mfile *f, struct pindex *out)
{
	const uint8_t *pages = data + PDUE_HEAD, *ents;
	uint64_t n = 0;

	memset(out, 0, sizeof(*out));
	if (check_frame(data, len, f, &n) < 0)
		return err_wrap("map of the pages due first of %s", f->name);
	ents = pages + 4 * n;
	out->e = malloc((n ? n : 1) * sizeof(*out->e));
	out->page = malloc((n ? n : 1) * sizeof(*out->page));
	out->mem = out->e;
	if (!out->e || !out->page) {
		pindex_free(out);
		return err_set("out of memory");
	}
	for (size_t k = 0; k < n; k++) {
		out->page[k] = (uint32_t)le_get(pages + 4 * k, 4);
		get_entry(ents + k * PINDEX_ENTRY, &out->e[k]);
		out->n = k + 1;
		if ((k && out->page[k] <= out->page[k - 1]) ||
		    out->page[k] >= f->size / STORE_PAGE) {
			err_set("entry %zu: page %u out of order or outside the file", k,
				out->page[k]);
			pindex_free(out);
			return err_wrap("map of the pages due first of %s", f->name);
		}
		if (pentry_check(&out->e[k], f, out->page[k]) < 0) {
			pindex_free(out);
			return err_wrap("map of the pages due first of %s", f->name);
		}
	}
	return 0;
}

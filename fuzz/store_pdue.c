/*
 * store_pdue.c - libFuzzer target for the parser of the map of a paged
 * file's pages due first (pdue_parse, src/store/pdue.c).
 *
 * Input: a pack count (1 byte, modulo 8, plus 1), that many pack sizes (4
 * bytes little endian each), the file's page count (4 bytes little
 * endian), then the map's bytes.  The harness writes the id of the
 * (empty) page index into them (bytes 16..48), as a writer would, so
 * that mutations reach the checks after it; the bytes as given are
 * parsed too.  A rejected parse must leave the map empty; an accepted one
 * must have its pages strictly increasing inside the file, every entry
 * inside its pack, and format back to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

static uint64_t le32(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24;
}

static void check_map(const struct pindex *ix, const struct mfile *f)
{
	for (size_t k = 0; k < ix->n; k++) {
		const struct pentry *e = &ix->e[k];

		if (!ix->page || ix->page[k] >= f->size / STORE_PAGE ||
		    (k && ix->page[k] <= ix->page[k - 1]))
			abort();
		if (e->pack >= f->npacks || e->len < 2 || e->len > PAGE_ENC_MAX ||
		    (uint64_t)e->off + e->len > f->packs[e->pack].size)
			abort();
	}
}

static void parse_once(const uint8_t *map, size_t len, const struct mfile *f)
{
	struct pindex ix;
	struct buf back = { 0 };

	memset(&ix, 0x5a, sizeof(ix));
	if (pdue_parse(map, len, f, &ix) < 0) {
		if (ix.n || ix.e || ix.page)
			abort();   /* a failed parse must leave it empty */
		return;
	}
	check_map(&ix, f);
	if (pdue_format(&ix, map + 16, &back) < 0 || back.len != len ||
	    memcmp(back.data, map, len))
		abort();   /* what we read, we write the same */
	buf_free(&back);
	pindex_free(&ix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mfile f = { .name = "pages", .paged = 1 };
	struct mpack packs[8];
	uint8_t *sealed;
	size_t np, at;

	if (size < 1)
		return 0;
	np = (size_t)(data[0] % 8) + 1;
	at = 1 + np * 4 + 4;
	if (size < at)
		return 0;
	memset(packs, 0, sizeof(packs));
	for (size_t k = 0; k < np; k++)
		packs[k].size = le32(data + 1 + 4 * k);
	f.packs = packs;
	f.npacks = np;
	f.size = le32(data + 1 + 4 * np) % (1u << 20) * STORE_PAGE;
	parse_once(data + at, size - at, &f);
	if (size - at < 48 || !(sealed = malloc(size - at)))
		return 0;
	memcpy(sealed, data + at, size - at);
	if (pdue_index_id(&f, sealed + 16) == 0)
		parse_once(sealed, size - at, &f);
	free(sealed);
	return 0;
}

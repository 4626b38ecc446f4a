/*
 * store_pindex.c - libFuzzer target for the page index parser
 * (pindex_parse, src/store/pindex.c).
 *
 * Input: a pack count (1 byte, modulo 8, plus 1), that many pack sizes (4
 * bytes little endian each), then the index bytes.  The file's size is
 * taken from the index length (its whole entries), so that mutations of
 * the entries reach the checks.  A rejected parse must leave the index
 * empty; an accepted one must have every entry inside its pack and
 * format back to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

static void check_entries(const struct pindex *ix, const struct mfile *f)
{
	for (size_t i = 0; i < ix->n; i++) {
		const struct pentry *e = &ix->e[i];

		if (e->pack >= f->npacks || e->len < 2 || e->len > PAGE_ENC_MAX ||
		    (uint64_t)e->off + e->len > f->packs[e->pack].size)
			abort();
	}
}

static void parse_once(const uint8_t *idx, size_t len, struct mfile *f)
{
	struct pindex ix;
	struct buf back = { 0 };

	memset(&ix, 0x5a, sizeof(ix));
	if (pindex_parse(idx, len, f, &ix) < 0) {
		if (ix.n || ix.e)
			abort();   /* a failed parse must leave it empty */
		return;
	}
	check_entries(&ix, f);
	if (ix.n != f->size / STORE_PAGE || pindex_format(ix.e, ix.n, &back) < 0 ||
	    back.len != len || memcmp(back.data, idx, len))
		abort();   /* what we read, we write the same */
	buf_free(&back);
	pindex_free(&ix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mfile f = { .name = "pages", .paged = 1 };
	struct mpack packs[8];
	size_t np, at, len, whole;

	if (size < 1)
		return 0;
	np = (size_t)(data[0] % 8) + 1;
	at = 1 + np * 4;
	if (size < at)
		return 0;
	memset(packs, 0, sizeof(packs));
	for (size_t k = 0; k < np; k++)
		packs[k].size = (uint64_t)data[1 + 4 * k] | (uint64_t)data[2 + 4 * k] << 8 |
				(uint64_t)data[3 + 4 * k] << 16 | (uint64_t)data[4 + 4 * k] << 24;
	f.packs = packs;
	f.npacks = np;
	len = size - at;
	whole = len >= PINDEX_HEAD ? (len - PINDEX_HEAD) / PINDEX_ENTRY : 0;
	f.size = (uint64_t)whole * STORE_PAGE;
	parse_once(data + at, len, &f);
	if (len > pindex_size(whole))
		parse_once(data + at, (size_t)pindex_size(whole), &f);
	return 0;
}

/*
 * store_pindex.c - libFuzzer target for the page index parser
 * (pindex_parse and pindex_adopt, src/store/pindex.c).
 *
 * Input: a pack count (1 byte, modulo 8, plus 1), that many pack sizes (4
 * bytes little endian each), then the index bytes.  The file's size is
 * taken from the index length (its whole entries), so that mutations of
 * the entries reach the checks.  A rejected parse must leave the index
 * empty; an accepted one must have every entry inside its pack and
 * format back to the same bytes.  pindex_adopt, given the bytes at an
 * aligned address (in place) and at an odd one (copied), must decide the
 * same and give the same entries.
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

/* pindex_adopt on idx at an aligned address (shift 0) or not (shift 1)
 * against pindex_parse's result. */
static void adopt_once(const uint8_t *idx, size_t len, struct mfile *f, size_t shift)
{
	struct pindex a, p;
	uint8_t *mem = malloc(len + shift + 1);
	int ra, rp;

	if (!mem)
		abort();
	memcpy(mem + shift, idx, len);
	memset(&a, 0x5a, sizeof(a));
	ra = pindex_adopt(mem + shift, len, f, shift ? NULL : mem, &a);
	rp = pindex_parse(idx, len, f, &p);
	if (ra != rp || (ra < 0 && (a.n || a.e)))
		abort();
	if (ra == 0 && (a.n != p.n || (a.n && memcmp(a.e, p.e, a.n * sizeof(*a.e)))))
		abort();
	if (ra < 0 || shift)
		free(mem);   /* a failed adopt, or one given no memory, leaves it ours */
	pindex_free(&a);
	pindex_free(&p);
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
	adopt_once(data + at, len, &f, 0);
	adopt_once(data + at, len, &f, 1);
	if (len > pindex_size(whole))
		parse_once(data + at, (size_t)pindex_size(whole), &f);
	return 0;
}

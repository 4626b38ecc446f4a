/*
 * fetched.c - decoding a chunk that a backend request fetched, with one
 * second chance: a copy that fails its hash check and came from a local
 * cache is dropped and read again from the store (see internal.h).  Used
 * by every reader of chunks: get.c, pages.c, lazyfile.c.
 */
#include <stdio.h>

#include "common/err.h"
#include "store/internal.h"

int chunk_decode_fetched(struct store *s, struct backend_get *r, const struct mchunk *c,
			 uint8_t *dst)
{
	char msg[512];
	int rc;

	if (chunk_decode(r->out.data, r->out.len, c->hash, dst, (size_t)c->len) == 0)
		return 0;
	snprintf(msg, sizeof(msg), "%s", err_msg());
	if (backend_forget(&s->be, r->key) != 0)
		return err_set("%s", msg);   /* no cache: the store's copy is bad */
	buf_free(&r->out);
	rc = s->be.ops->get(s->be.be, r->key, &r->out);
	if (rc != 0)
		return rc < 0 ? err_wrap("%s (and the store's copy cannot be read)", msg)
			      : err_set("%s (and gone from the store)", msg);
	return chunk_decode(r->out.data, r->out.len, c->hash, dst, (size_t)c->len);
}

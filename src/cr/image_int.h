/*
 * image_int.h - what the parts of the image model share (image_io.c, the
 * public entry points and the manifest file; image_codec.c, the byte
 * layout; image_check.c, the validation; image_inet.c, an inet file's
 * record).  Not for users of the image: they include image.h.
 */
#ifndef PC_CR_IMAGE_INT_H
#define PC_CR_IMAGE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "cr/image.h"

#define MAX_GROUPS      64

/* ---- Little-endian encoding of integers ---- */

static inline void le_store(uint8_t *dst, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t le_load(const uint8_t *src, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)src[i] << (8 * i);
	return v;
}

/* image_codec.c: the whole manifest, header and records, into *buf
 * (malloc'd, *buf NULL on failure); a manifest's header checked, then its
 * records decoded into img (freeable even when this fails). */
int image_encode(const struct cr_image *img, uint8_t **buf, size_t *len);
int image_decode(const uint8_t *buf, size_t len, struct cr_image *img);

/* image_check.c: every field of img, as the writer and the reader insist. */
int image_check(const struct cr_image *img);

/* image_inet.c: the check of an inet file (the socket library's rules). */
int image_inet_check(const struct cr_file *f);

#endif

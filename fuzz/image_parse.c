/*
 * image_parse.c - libFuzzer target for the manifest parser (src/cr/image_io.c).
 *
 * Each input is parsed twice: as it is (exercising the header checks), and
 * with its header's length and SHA-256 recomputed, so that mutations reach
 * the record decoder and the validator instead of all dying at the checksum.
 * A rejected parse must leave the image zeroed; that is asserted here.
 */
#include <stddef.h>
#include "cr/image.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HDR_LEN 56
#define HDR_OFF_LENGTH 16
#define HDR_OFF_SHA 24

static void parse_once(const uint8_t *buf, size_t len)
{
	static const struct cr_image zero;
	struct cr_image img;

	memset(&img, 0x5a, sizeof(img));
	if (cr_image_parse(buf, len, &img) == 0) {
		cr_image_free(&img);
		return;
	}
	if (memcmp(&img, &zero, sizeof(img)))
		abort();   /* a failed parse must leave *img zeroed */
}

/* Give buf a header length and checksum that match its contents. */
static void reseal(uint8_t *buf, size_t len)
{
	unsigned int n;

	for (int i = 0; i < 8; i++)
		buf[HDR_OFF_LENGTH + i] = (uint8_t)((uint64_t)len >> (8 * i));
	if (!EVP_Digest(buf + HDR_LEN, len - HDR_LEN, buf + HDR_OFF_SHA, &n,
			EVP_sha256(), NULL))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	parse_once(data, size);
	if (size < HDR_LEN)
		return 0;
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	reseal(copy, size);
	parse_once(copy, size);
	free(copy);
	return 0;
}

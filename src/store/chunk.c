/*
 * chunk.c - one chunk: its name (SHA-256 of the plain bytes), its stored
 * encoding (one format byte, then zstd level 1 or the raw bytes when
 * compression does not shrink them) and the checked decoding.  Each
 * thread keeps its zstd contexts: making one per call cost 15 us, more
 * than the work for a 4 KiB page (a revival decodes thousands); and its
 * SHA-256 context, with the digest fetched once: EVP_Digest() fetches
 * it from OpenSSL 3's providers at every call (2560 pages: 18 ms against
 * 7 ms, quiet machine).
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <zstd.h>

#include "common/err.h"
#include "store/internal.h"

#define ZSTD_LEVEL 1

/* ---- per-thread zstd contexts, freed when their thread exits ---- */

static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static pthread_key_t cctx_key, dctx_key, sha_key;
static int ctx_keys_ok;
static EVP_MD *sha_md;           /* fetched once; NULL: EVP_Digest() each time */

static void free_cctx(void *c)
{
	ZSTD_freeCCtx(c);
}

static void free_dctx(void *d)
{
	ZSTD_freeDCtx(d);
}

static void free_sha(void *c)
{
	EVP_MD_CTX_free(c);
}

static void make_keys(void)
{
	ctx_keys_ok = pthread_key_create(&cctx_key, free_cctx) == 0 &&
		      pthread_key_create(&dctx_key, free_dctx) == 0 &&
		      pthread_key_create(&sha_key, free_sha) == 0;
	sha_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* This thread's context under key (made by make()), or NULL. */
static void *thread_ctx(pthread_key_t *key, void *(*make)(void), void (*drop)(void *))
{
	void *c;

	pthread_once(&ctx_once, make_keys);
	if (!ctx_keys_ok)
		return NULL;
	c = pthread_getspecific(*key);
	if (!c && (c = make()) && pthread_setspecific(*key, c) != 0) {
		drop(c);
		c = NULL;
	}
	return c;
}

static void *new_cctx(void)
{
	return ZSTD_createCCtx();
}

static void *new_dctx(void)
{
	return ZSTD_createDCtx();
}

static void *new_sha(void)
{
	return EVP_MD_CTX_new();
}

static size_t zcompress(void *dst, size_t cap, const void *src, size_t len)
{
	ZSTD_CCtx *c = thread_ctx(&cctx_key, new_cctx, free_cctx);

	return c ? ZSTD_compressCCtx(c, dst, cap, src, len, ZSTD_LEVEL)
		 : ZSTD_compress(dst, cap, src, len, ZSTD_LEVEL);
}

static size_t zdecompress(void *dst, size_t cap, const void *src, size_t len)
{
	ZSTD_DCtx *d = thread_ctx(&dctx_key, new_dctx, free_dctx);

	return d ? ZSTD_decompressDCtx(d, dst, cap, src, len) : ZSTD_decompress(dst, cap, src, len);
}

int chunk_hash(const void *data, size_t len, uint8_t out[HASH_LEN])
{
	EVP_MD_CTX *c = thread_ctx(&sha_key, new_sha, free_sha);
	unsigned int n = 0;
	int ok;

	if (c && sha_md)
		ok = EVP_DigestInit_ex2(c, sha_md, NULL) && EVP_DigestUpdate(c, data, len) &&
		     EVP_DigestFinal_ex(c, out, &n);
	else
		ok = EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
	if (!ok || n != HASH_LEN)
		return err_set("sha256 of %zu bytes failed", len);
	return 0;
}

void hash_hex(const uint8_t h[HASH_LEN], char out[HASH_HEX])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < HASH_LEN; i++) {
		out[2 * i] = hex[h[i] >> 4];
		out[2 * i + 1] = hex[h[i] & 15];
	}
	out[HASH_LEN * 2] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int hash_parse(const char *hex, uint8_t out[HASH_LEN])
{
	for (int i = 0; i < HASH_LEN; i++) {
		int hi = hexval(hex[2 * i]), lo = hi < 0 ? -1 : hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return err_set("bad chunk hash '%.64s'", hex);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	if (hex[HASH_LEN * 2] != '\0')
		return err_set("bad chunk hash '%.70s'", hex);
	return 0;
}

void chunk_key(const uint8_t h[HASH_LEN], char out[CHUNK_KEY_MAX])
{
	char hex[HASH_HEX];

	hash_hex(h, hex);
	snprintf(out, CHUNK_KEY_MAX, "chunks/%.2s/%s", hex, hex);
}

int chunk_encode(const void *plain, size_t len, struct buf *out)
{
	size_t bound = ZSTD_compressBound(len), n;

	out->len = 0;
	if (buf_reserve(out, 1 + (bound > len ? bound : len)) < 0)
		return -1;
	n = zcompress(out->data + 1, bound, plain, len);
	if (!ZSTD_isError(n) && n < len) {
		out->data[0] = CHUNK_ZSTD;
		out->len = 1 + n;
		return 0;
	}
	out->data[0] = CHUNK_RAW;
	memcpy(out->data + 1, plain, len);
	out->len = 1 + len;
	return 0;
}

static int chunk_unpack(const uint8_t *obj, size_t objlen, uint8_t *dst,
			size_t plain_len)
{
	size_t n;

	if (objlen < 1)
		return err_set("empty object");
	switch (obj[0]) {
	case CHUNK_RAW:
		if (objlen - 1 != plain_len)
			return err_set("raw chunk of %zu bytes, manifest says %zu",
				       objlen - 1, plain_len);
		memcpy(dst, obj + 1, plain_len);
		return 0;
	case CHUNK_ZSTD:
		n = zdecompress(dst, plain_len, obj + 1, objlen - 1);
		if (ZSTD_isError(n))
			return err_set("zstd: %s", ZSTD_getErrorName(n));
		if (n != plain_len)
			return err_set("decompressed to %zu bytes, manifest says %zu",
				       n, plain_len);
		return 0;
	default:
		return err_set("unknown chunk format byte 0x%02x", obj[0]);
	}
}

int chunk_decode(const uint8_t *obj, size_t objlen, const uint8_t h[HASH_LEN],
		 uint8_t *dst, size_t plain_len)
{
	uint8_t got[HASH_LEN];
	char hex[HASH_HEX];

	hash_hex(h, hex);
	if (chunk_unpack(obj, objlen, dst, plain_len) < 0)
		return err_wrap("chunk %s corrupt", hex);
	if (chunk_hash(dst, plain_len, got) < 0)
		return -1;
	if (memcmp(got, h, HASH_LEN) != 0)
		return err_set("chunk %s corrupt: content hash mismatch", hex);
	return 0;
}

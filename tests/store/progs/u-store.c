/*
 * u-store.c - unit tests of the store core: chunker bounds and shift
 * resistance, chunk encode/decode and corruption detection, the manifest
 * format (round trip, tampering refused), CRC-32C, store URLs, the file backend's
 * if_absent, and concurrent writers of one image (exactly one wins).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "store/internal.h"

static int failures;

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fprintf(stderr, " [%s]\n", err_msg()); \
		failures++; \
	} \
} while (0)

static uint64_t rng = 88172645463325252ULL;

static void fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		p[i] = (uint8_t)rng;
	}
}

/* Cut points of data, as offsets of chunk ends. */
static size_t cuts(const uint8_t *d, size_t len, size_t *out, size_t max)
{
	size_t n = 0;

	for (size_t off = 0; off < len && n < max;) {
		off += chunker_next(d + off, len - off);
		out[n++] = off;
	}
	return n;
}

static void test_chunker(void)
{
	size_t len = 32u << 20, n1, n2, same = 0;
	uint8_t *a = malloc(len + 4096), *b = malloc(len + 4096);
	static size_t c1[4096], c2[4096];

	fill_random(a, len);
	n1 = cuts(a, len, c1, 4096);
	for (size_t i = 0; i < n1; i++) {
		size_t sz = c1[i] - (i ? c1[i - 1] : 0);

		CHECK(sz <= CHUNK_MAX && (sz >= CHUNK_MIN || i == n1 - 1),
		      "chunk %zu of %zu bytes", i, sz);
	}
	CHECK(n1 > len / (CHUNK_AVG * 2) && n1 < len / (CHUNK_AVG / 2),
	      "%zu chunks for %zu bytes", n1, len);
	/* Insert a page at 10 MB: cuts after it move by exactly 4096. */
	memcpy(b, a, 10u << 20);
	fill_random(b + (10u << 20), 4096);
	memcpy(b + (10u << 20) + 4096, a + (10u << 20), len - (10u << 20));
	n2 = cuts(b, len + 4096, c2, 4096);
	for (size_t i = 0, j = 0; i < n1 && j < n2;) {
		if (c1[i] + 4096 == c2[j] && c1[i] > (10u << 20)) {
			same++;
			i++;
			j++;
		} else if (c1[i] + 4096 < c2[j]) {
			i++;
		} else {
			j++;
		}
	}
	CHECK(same + 4 >= n1 - (10u << 20) / CHUNK_AVG - 8,
	      "only %zu of %zu cut points survived an insertion", same, n1);
	/* A page changed in place: the chunk sequence resynchronizes at once. */
	for (int t = 0; t < 20; t++) {
		size_t at = ((size_t)(rng % (len / 4096 - 1))) * 4096, diff = 0;

		memcpy(b, a, len);
		fill_random(b + at, 4096);
		n2 = cuts(b, len, c2, 4096);
		for (size_t i = 0, j = 0; i < n1 || j < n2;) {
			if (i < n1 && j < n2 && c1[i] == c2[j]) {
				i++;
				j++;
			} else if (j >= n2 || (i < n1 && c1[i] < c2[j])) {
				i++;
				diff++;
			} else {
				j++;
				diff++;
			}
		}
		CHECK(diff <= 4, "page at %zu changed %zu cut points", at, diff);
	}
	/* Zeros cut at CHUNK_MAX and deduplicate. */
	memset(a, 0, len);
	CHECK(chunker_next(a, len) == CHUNK_MAX, "zero chunk of %zu", chunker_next(a, len));
	CHECK(chunker_next(a, 100) == 100, "short tail");
	free(a);
	free(b);
}

static void test_chunk_codec(void)
{
	size_t len = 300000;
	uint8_t *p = malloc(len), *q = malloc(len), h[HASH_LEN];
	struct buf enc = { 0 };

	fill_random(p, len / 2);
	memset(p + len / 2, 7, len - len / 2);
	CHECK(chunk_hash(p, len, h) == 0, "hash");
	CHECK(chunk_encode(p, len, &enc) == 0 && enc.data[0] == CHUNK_ZSTD &&
	      enc.len < len, "compressible chunk stored as %c, %zu bytes", enc.data[0], enc.len);
	CHECK(chunk_decode(enc.data, enc.len, h, q, len) == 0 && !memcmp(p, q, len),
	      "decode");
	enc.data[enc.len / 2] ^= 1;
	CHECK(chunk_decode(enc.data, enc.len, h, q, len) < 0 &&
	      strstr(err_msg(), "corrupt"), "flipped bit not detected");
	fill_random(p, len);
	chunk_hash(p, len, h);
	CHECK(chunk_encode(p, len, &enc) == 0 && enc.data[0] == CHUNK_RAW &&
	      enc.len == len + 1, "random chunk not stored raw");
	enc.data[10] ^= 0x80;
	CHECK(chunk_decode(enc.data, enc.len, h, q, len) < 0 &&
	      strstr(err_msg(), "hash mismatch"), "raw corruption not detected");
	CHECK(chunk_decode(enc.data, enc.len - 1, h, q, len) < 0, "short raw chunk");
	buf_free(&enc);
	free(p);
	free(q);
}

/* CRC-32C: the standard check value, the CPU's instruction against the
 * table at every length and alignment, and a value built in pieces. */
static void test_crc32c(void)
{
	uint8_t buf[300];

	CHECK(crc32c("123456789", 9) == 0xE3069283u, "check value %08x",
	      crc32c("123456789", 9));
	fill_random(buf, sizeof(buf));
	for (size_t at = 0; at < 9; at++)
		for (size_t n = 0; n + at <= sizeof(buf); n += 7)
			CHECK(crc32c_update(0, buf + at, n, 0) == crc32c_update(0, buf + at, n, 1),
			      "hardware and table differ at %zu+%zu", at, n);
	CHECK(crc32c_update(crc32c(buf, 100), buf + 100, 200, 0) == crc32c(buf, 300),
	      "crc in two pieces");
}

static void test_manifest(void)
{
	struct manifest m = { 0 }, r;
	struct mfile f[2] = { { 0 } };
	struct buf text = { 0 };
	uint8_t h[HASH_LEN];

	memset(h, 0xab, sizeof(h));
	f[0].name = "pages";
	f[0].size = 300;
	f[0].mode = 0644;
	mfile_add_chunk(&f[0], h, 100);
	mfile_add_chunk(&f[0], h, 200);
	f[1].name = "manifest";
	m.image = "web-1.a_b";
	m.generation = 42;
	m.created = 1700000000;
	m.files = f;
	m.nfiles = 2;
	CHECK(manifest_format(&m, &text) == 0, "format");
	CHECK(manifest_parse(text.data, text.len, &r) == 0, "parse");
	CHECK(r.nfiles == 2 && r.generation == 42 && !strcmp(r.image, "web-1.a_b") &&
	      r.files[0].nchunks == 2 && r.files[0].chunks[1].len == 200 &&
	      r.files[1].size == 0 && r.files[0].mode == 0644, "round trip");
	manifest_free(&r);
	/* Any changed byte is refused. */
	for (size_t i = 0; i < text.len; i += 7) {
		text.data[i] ^= 0x01;
		CHECK(manifest_parse(text.data, text.len, &r) < 0, "byte %zu changed, accepted", i);
		text.data[i] ^= 0x01;
	}
	CHECK(manifest_parse(text.data, text.len - 1, &r) < 0, "truncated accepted");
	free(f[0].chunks);
	buf_free(&text);
	/* Sizes that do not add up are refused even with a valid checksum. */
	f[0].size = 301;
	f[0].chunks = NULL;
	f[0].nchunks = 0;
	mfile_add_chunk(&f[0], h, 100);
	m.nfiles = 1;
	manifest_format(&m, &text);
	CHECK(manifest_parse(text.data, text.len, &r) < 0 && strstr(err_msg(), "add up"),
	      "inconsistent sizes accepted");
	free(f[0].chunks);
	buf_free(&text);
}

static void test_urls(const char *dir)
{
	struct backend b;
	char url[512];

	CHECK(backend_open("/tmp/x", &b) < 0 && strstr(err_msg(), "no scheme"), "no scheme");
	CHECK(backend_open("ftp://x/y", &b) < 0 && strstr(err_msg(), "unknown scheme"), "ftp");
	CHECK(backend_open("file://relative", &b) < 0, "relative file URL");
	CHECK(backend_open("s3:///nobucket", &b) < 0, "s3 without bucket");
	snprintf(url, sizeof(url), "file://%s/b/", dir);
	CHECK(backend_open(url, &b) == 0, "file URL");
	if (failures)
		return;
	CHECK(b.ops->put(b.be, "x/y", "1", 1, 1) == 0, "put");
	CHECK(b.ops->put(b.be, "x/y", "2", 1, 1) == 1, "if_absent put replaced");
	CHECK(b.ops->put(b.be, "x/.hidden", "2", 1, 0) < 0, "dot key accepted");
	CHECK(b.ops->put(b.be, "../escape", "2", 1, 0) < 0, "../ key accepted");
	CHECK(b.ops->put(b.be, "x/y", "3", 1, 0) == 0, "overwrite put");
	{
		struct buf out = { 0 };
		uint64_t size;

		CHECK(b.ops->get(b.be, "x/y", &out) == 0 && out.len == 1 && out.data[0] == '3',
		      "get");
		CHECK(b.ops->get(b.be, "x/none", &out) == 1, "get absent");
		CHECK(b.ops->head(b.be, "x/none", &size) == 1, "head absent");
		CHECK(b.ops->del(b.be, "x/y") == 0 && b.ops->del(b.be, "x/y") == 0, "del");
		buf_free(&out);
	}
	b.ops->close(b.be);
}

struct writer {
	struct store *s;
	char dir[512];
	int rc;
	char msg[512];
	pthread_barrier_t *bar;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct store_put_opts o = { .parent = 1, .has_parent = 1 };

	pthread_barrier_wait(w->bar);
	w->rc = store_put_image(w->s, "img", w->dir, &o, NULL);
	snprintf(w->msg, sizeof(w->msg), "%s", err_msg());
	return NULL;
}

static void test_writers(const char *dir)
{
	enum { N = 6 };
	struct writer w[N];
	pthread_t t[N];
	pthread_barrier_t bar;
	struct store *s;
	char url[512], path[600];
	int wins = 0, conflicts = 0;
	uint8_t data[100000];

	snprintf(url, sizeof(url), "file://%s/w", dir);
	CHECK(store_open(url, &s) == 0, "open");
	if (failures)
		return;
	pthread_barrier_init(&bar, NULL, N);
	for (int i = 0; i < N; i++) {
		FILE *f;

		w[i].s = s;
		w[i].bar = &bar;
		snprintf(w[i].dir, sizeof(w[i].dir), "%s/src%d", dir, i);
		mkdir(w[i].dir, 0755);
		snprintf(path, sizeof(path), "%s/pages", w[i].dir);
		fill_random(data, sizeof(data));
		f = fopen(path, "w");
		fwrite(data, 1, sizeof(data), f);
		fclose(f);
	}
	CHECK(store_put_image(s, "img", w[0].dir, NULL, NULL) == 0, "base put");
	for (int i = 0; i < N; i++)
		pthread_create(&t[i], NULL, writer_main, &w[i]);
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		wins += w[i].rc == 0;
		conflicts += w[i].rc < 0 && strstr(w[i].msg, "conflict") != NULL;
	}
	CHECK(wins == 1 && conflicts == N - 1, "%d wins, %d conflicts", wins, conflicts);
	pthread_barrier_destroy(&bar);
	store_close(s);
}

int main(void)
{
	char dir[] = "/tmp/u-store.XXXXXX", cmd[64];

	if (!mkdtemp(dir))
		return 1;
	test_chunker();
	test_chunk_codec();
	test_crc32c();
	test_manifest();
	test_urls(dir);
	test_writers(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", dir);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}

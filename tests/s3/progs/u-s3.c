/*
 * u-s3.c - a small S3 client over the project's backend, for the tests in
 * tests/s3/ and for bench/store.sh.
 *
 *   u-s3 mb BUCKET                     create a bucket
 *   u-s3 put URL KEY FILE [-n]         put (-n: only if absent)
 *   u-s3 put-random URL KEY SIZE       put SIZE random bytes, print sha256
 *   u-s3 get URL KEY FILE              get into FILE
 *   u-s3 head URL KEY                  print the size
 *   u-s3 ls URL [PREFIX]               print "key size mtime" lines
 *   u-s3 count URL [PREFIX]            print the number of keys
 *   u-s3 rm URL KEY
 *   u-s3 fill URL PREFIX N             put N small objects PREFIX0..N-1
 *   u-s3 getmany URL KEY SIZE CHUNK    ranged get_many of KEY, print sha256
 *   u-s3 bench-putget URL SIZE COUNT   put/get latency, JSON line each
 *   u-s3 bench-fetch URL KEY SIZE CHUNK  parallel vs sequential ranged GETs
 *
 * URL is s3://BUCKET/PREFIX or file:///DIR.  Exit 0 on success, 3 when the
 * key is absent (get/head) or exists (put -n), 1 with a one-line message on
 * stderr on error.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "store/backend.h"
#include "store/s3.h"
#include "store/s3_sign.h"

static int fail(const char *what)
{
	fprintf(stderr, "u-s3: %s%s%s\n", what, *err_msg() ? ": " : "", err_msg());
	return 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int open_url(const char *url, struct backend *b)
{
	char bucket[128];
	const char *p;
	size_t n;

	if (strncmp(url, "s3://", 5))
		return backend_open(url, b);
	p = strchr(url + 5, '/');
	n = p ? (size_t)(p - url - 5) : strlen(url + 5);
	if (n >= sizeof(bucket))
		return err_set("bucket name too long");
	memcpy(bucket, url + 5, n);
	bucket[n] = '\0';
	return backend_s3_open(bucket, p ? p + 1 : "", b);
}

static int read_file(const char *path, struct buf *out)
{
	char tmp[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return err_sys("open %s", path);
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		if (buf_append(out, tmp, (size_t)n) < 0)
			break;
	close(fd);
	return n == 0 ? 0 : err_sys("read %s", path);
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		return err_sys("write %s", path);
	return 0;
}

static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

static int rc_of(int rc)
{
	return rc < 0 ? fail("error") : rc == 1 ? 3 : 0;
}

static int cmd_put(struct backend *b, int argc, char **argv)
{
	struct buf data = { 0 };
	int rc;

	if (argc < 2)
		return fail("usage: put URL KEY FILE [-n]");
	if (read_file(argv[1], &data) < 0)
		return fail("put");
	rc = b->ops->put(b->be, argv[0], data.data, data.len,
			 argc > 2 && !strcmp(argv[2], "-n"));
	buf_free(&data);
	return rc_of(rc);
}

static int cmd_put_random(struct backend *b, int argc, char **argv)
{
	size_t n;
	uint8_t *p;
	char hex[S3_SHA256_HEX];
	int rc;

	if (argc < 2)
		return fail("usage: put-random URL KEY SIZE");
	n = strtoull(argv[1], NULL, 0);
	p = malloc(n ? n : 1);
	if (!p)
		return fail("out of memory");
	fill_random(p, n, (uint64_t)time(NULL) ^ (uint64_t)getpid());
	s3_sha256_hex(p, n, hex);
	rc = b->ops->put(b->be, argv[0], p, n, 0);
	free(p);
	if (rc == 0)
		printf("%s\n", hex);
	return rc_of(rc);
}

static int cmd_get(struct backend *b, int argc, char **argv)
{
	struct buf out = { 0 };
	int rc;

	if (argc < 2)
		return fail("usage: get URL KEY FILE");
	rc = b->ops->get(b->be, argv[0], &out);
	if (rc == 0 && write_file(argv[1], out.data ? out.data : (uint8_t *)"", out.len) < 0)
		rc = -1;
	buf_free(&out);
	return rc_of(rc);
}

static int cmd_head(struct backend *b, int argc, char **argv)
{
	uint64_t size = 0;
	int rc;

	if (argc < 1)
		return fail("usage: head URL KEY");
	rc = b->ops->head(b->be, argv[0], &size);
	if (rc == 0)
		printf("%llu\n", (unsigned long long)size);
	return rc_of(rc);
}

static int print_key(const char *key, uint64_t size, int64_t mtime, void *arg)
{
	(void)arg;
	printf("%s %llu %lld\n", key, (unsigned long long)size, (long long)mtime);
	return 0;
}

static int count_key(const char *key, uint64_t size, int64_t mtime, void *arg)
{
	(void)key;
	(void)size;
	(void)mtime;
	(*(unsigned long *)arg)++;
	return 0;
}

static int cmd_ls(struct backend *b, int argc, char **argv, int count)
{
	unsigned long n = 0;
	int rc;

	if (count)
		rc = b->ops->list(b->be, argc ? argv[0] : "", count_key, &n);
	else
		rc = b->ops->list(b->be, argc ? argv[0] : "", print_key, NULL);
	if (rc == 0 && count)
		printf("%lu\n", n);
	return rc_of(rc);
}

static int cmd_fill(struct backend *b, int argc, char **argv)
{
	char key[512], val[64];
	long n;

	if (argc < 2)
		return fail("usage: fill URL PREFIX N");
	n = strtol(argv[1], NULL, 0);
	for (long i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%s%06ld", argv[0], i);
		snprintf(val, sizeof(val), "value %ld\n", i);
		if (b->ops->put(b->be, key, val, strlen(val), 0) < 0)
			return fail("fill");
	}
	return 0;
}

/* Ranged gets of [0, size) in chunk-sized pieces: parallel (get_many of
 * all) or one after another (get_many of one at a time). */
static int ranged_fetch(struct backend *b, const char *key, uint8_t *dst,
			size_t size, size_t chunk, int parallel)
{
	size_t n = (size + chunk - 1) / chunk;
	struct backend_get *g = calloc(n ? n : 1, sizeof(*g));
	int rc = 0;

	if (!g)
		return err_sys("calloc");
	for (size_t i = 0; i < n; i++) {
		g[i].key = key;
		g[i].off = i * chunk;
		g[i].len = size - i * chunk < chunk ? size - i * chunk : chunk;
		g[i].dst = dst + i * chunk;
	}
	if (parallel)
		rc = b->ops->get_many(b->be, g, n);
	for (size_t i = 0; !parallel && i < n && rc == 0; i++)
		rc = b->ops->get_many(b->be, &g[i], 1);
	free(g);
	return rc;
}

static int cmd_getmany(struct backend *b, int argc, char **argv)
{
	size_t size, chunk;
	uint8_t *p;
	char hex[S3_SHA256_HEX];
	int rc;

	if (argc < 3)
		return fail("usage: getmany URL KEY SIZE CHUNK");
	size = strtoull(argv[1], NULL, 0);
	chunk = strtoull(argv[2], NULL, 0);
	p = malloc(size ? size : 1);
	if (!p || !chunk)
		return fail("bad size");
	rc = ranged_fetch(b, argv[0], p, size, chunk, 1);
	if (rc == 0) {
		s3_sha256_hex(p, size, hex);
		printf("%s\n", hex);
	}
	free(p);
	return rc_of(rc);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *backend, const char *op, size_t size, int count,
		   double *lat)
{
	double total = 0;

	for (int i = 0; i < count; i++)
		total += lat[i];
	qsort(lat, (size_t)count, sizeof(*lat), cmp_double);
	printf("{\"bench\":\"store\",\"backend\":\"%s\",\"op\":\"%s\",\"size\":%zu,"
	       "\"count\":%d,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"mean_ms\":%.3f,"
	       "\"mb_per_s\":%.1f}\n", backend, op, size, count,
	       lat[count / 2] * 1e3, lat[count * 9 / 10] * 1e3, total / count * 1e3,
	       (double)size * count / total / 1e6);
}

static int cmd_bench_putget(struct backend *b, int argc, char **argv)
{
	size_t size;
	int count;
	uint8_t *p;
	double *lat, t;
	char key[64];
	struct buf out = { 0 };

	if (argc < 2)
		return fail("usage: bench-putget URL SIZE COUNT");
	size = strtoull(argv[0], NULL, 0);
	count = atoi(argv[1]);
	p = malloc(size);
	lat = calloc((size_t)count + 1, sizeof(*lat));
	if (!p || !lat || count < 1)
		return fail("bad arguments");
	/* warm up: the first write to a bucket makes radosgw create pools */
	p[0] = 0;
	if (b->ops->put(b->be, "bench/warm", p, 1, 0) < 0 ||
	    b->ops->get(b->be, "bench/warm", &out) != 0)
		return fail("bench warm-up");
	for (int i = 0; i < count; i++) {
		fill_random(p, size, (uint64_t)i + 1);
		snprintf(key, sizeof(key), "bench/%zu-%d", size, i);
		t = now_s();
		if (b->ops->put(b->be, key, p, size, 0) < 0)
			return fail("bench put");
		lat[i] = now_s() - t;
	}
	report(b->ops->scheme, "put", size, count, lat);
	for (int i = 0; i < count; i++) {
		snprintf(key, sizeof(key), "bench/%zu-%d", size, i);
		t = now_s();
		if (b->ops->get(b->be, key, &out) != 0 || out.len != size)
			return fail("bench get");
		lat[i] = now_s() - t;
	}
	report(b->ops->scheme, "get", size, count, lat);
	for (int i = 0; i < count; i++) {
		snprintf(key, sizeof(key), "bench/%zu-%d", size, i);
		b->ops->del(b->be, key);
	}
	buf_free(&out);
	free(lat);
	free(p);
	return 0;
}

static int cmd_bench_fetch(struct backend *b, int argc, char **argv)
{
	size_t size, chunk;
	uint8_t *p;
	double t0, seq, par;

	if (argc < 3)
		return fail("usage: bench-fetch URL KEY SIZE CHUNK");
	size = strtoull(argv[1], NULL, 0);
	chunk = strtoull(argv[2], NULL, 0);
	p = malloc(size ? size : 1);
	if (!p || !chunk)
		return fail("bad arguments");
	/* warm up the connections */
	if (ranged_fetch(b, argv[0], p, chunk * 16 < size ? chunk * 16 : size, chunk, 1) < 0)
		return fail("bench-fetch warm-up");
	t0 = now_s();
	if (ranged_fetch(b, argv[0], p, size, chunk, 0) < 0)
		return fail("bench-fetch sequential");
	seq = now_s() - t0;
	t0 = now_s();
	if (ranged_fetch(b, argv[0], p, size, chunk, 1) < 0)
		return fail("bench-fetch parallel");
	par = now_s() - t0;
	printf("{\"bench\":\"store\",\"backend\":\"%s\",\"op\":\"fetch\",\"size\":%zu,"
	       "\"chunk\":%zu,\"requests\":%zu,\"sequential_s\":%.3f,\"parallel_s\":%.3f,"
	       "\"speedup\":%.2f}\n", b->ops->scheme, size, chunk,
	       (size + chunk - 1) / chunk, seq, par, seq / par);
	free(p);
	return 0;
}

static int dispatch(struct backend *b, const char *cmd, int argc, char **argv)
{
	if (!strcmp(cmd, "put"))
		return cmd_put(b, argc, argv);
	if (!strcmp(cmd, "put-random"))
		return cmd_put_random(b, argc, argv);
	if (!strcmp(cmd, "get"))
		return cmd_get(b, argc, argv);
	if (!strcmp(cmd, "head"))
		return cmd_head(b, argc, argv);
	if (!strcmp(cmd, "ls") || !strcmp(cmd, "count"))
		return cmd_ls(b, argc, argv, !strcmp(cmd, "count"));
	if (!strcmp(cmd, "rm") && argc >= 1)
		return rc_of(b->ops->del(b->be, argv[0]));
	if (!strcmp(cmd, "fill"))
		return cmd_fill(b, argc, argv);
	if (!strcmp(cmd, "getmany"))
		return cmd_getmany(b, argc, argv);
	if (!strcmp(cmd, "bench-putget"))
		return cmd_bench_putget(b, argc, argv);
	if (!strcmp(cmd, "bench-fetch"))
		return cmd_bench_fetch(b, argc, argv);
	err_clear();
	return fail("unknown command (see the top of tests/s3/progs/u-s3.c)");
}

int main(int argc, char **argv)
{
	struct backend b;
	int rc;

	if (argc >= 3 && !strcmp(argv[1], "mb")) {
		rc = s3_create_bucket(argv[2]);
		return rc < 0 ? fail("mb") : 0;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: u-s3 COMMAND URL ARGS... (see the source)\n");
		return 2;
	}
	if (open_url(argv[2], &b) < 0)
		return fail("open");
	rc = dispatch(&b, argv[1], argc - 3, argv + 3);
	b.ops->close(b.be);
	return rc;
}

/*
 * store.c - `picocenter store ls|du|fsck|gc|put|get|rm`: operator (and test)
 * commands on an object store.  A thin shell over store/store.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "common/err.h"
#include "store/store.h"

struct store_args {
	const char *url;
	const char *image;
	const char *dir;
	const char *cache_dir;
	const char *local_dir;
	uint64_t cache_size;
	uint64_t generation;
	int has_generation;
	int64_t grace;
	int dry_run;
};

static int store_usage(void)
{
	fprintf(stderr,
		"usage: picocenter store ls   [--store URL]\n"
		"       picocenter store du   [--store URL]\n"
		"       picocenter store fsck [--store URL]\n"
		"       picocenter store gc   [--store URL] [--grace SECONDS] [--dry-run]\n"
		"       picocenter store put  [--store URL] --image NAME --dir DIR [--parent GEN]\n"
		"                             [--cache DIR [--cache-size BYTES]] [--local DIR]\n"
		"       picocenter store get  [--store URL] --image NAME --dir DIR [--generation GEN]\n"
		"                             [--cache DIR [--cache-size BYTES]]\n"
		"       picocenter store rm   [--store URL] --image NAME\n"
		"URL: file:///PATH or s3://BUCKET/PREFIX (default " STORE_DEFAULT_URL ")\n"
		"BYTES may end in K, M or G.\n");
	return 2;
}

/* "123", "64M", "2G" -> bytes. */
static int parse_size(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return err_set("bad number '%s'", s);
	switch (*end) {
	case 'K': case 'k': n <<= 10; end++; break;
	case 'M': case 'm': n <<= 20; end++; break;
	case 'G': case 'g': n <<= 30; end++; break;
	default: break;
	}
	if (*end)
		return err_set("bad number '%s'", s);
	*v = n;
	return 0;
}

static int parse_one(struct store_args *a, const char *opt, const char *val)
{
	uint64_t v;

	if (!strcmp(opt, "--store"))
		a->url = val;
	else if (!strcmp(opt, "--image"))
		a->image = val;
	else if (!strcmp(opt, "--dir"))
		a->dir = val;
	else if (!strcmp(opt, "--cache"))
		a->cache_dir = val;
	else if (!strcmp(opt, "--local"))
		a->local_dir = val;
	else if (!strcmp(opt, "--cache-size"))
		return parse_size(val, &a->cache_size);
	else if (!strcmp(opt, "--generation") || !strcmp(opt, "--parent")) {
		if (parse_size(val, &a->generation) < 0)
			return -1;
		a->has_generation = 1;
	} else if (!strcmp(opt, "--grace")) {
		if (parse_size(val, &v) < 0 || v > INT64_MAX / 2)
			return err_set("bad --grace '%s'", val);
		a->grace = (int64_t)v;
	} else
		return err_set("unknown option '%s'", opt);
	return 0;
}

static int parse_args(int argc, char **argv, struct store_args *a)
{
	a->url = STORE_DEFAULT_URL;
	a->cache_size = 1ULL << 30;
	a->grace = STORE_GC_GRACE_DEFAULT;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--dry-run"))
			a->dry_run = 1;
		else if (i + 1 >= argc)
			return err_set("option '%s' needs a value", argv[i]);
		else if (parse_one(a, argv[i], argv[i + 1]) < 0)
			return -1;
		else
			i++;
	}
	return 0;
}

static int open_store(const struct store_args *a, struct store **s)
{
	if (a->cache_dir)
		return store_open_cached(a->url, a->cache_dir, a->cache_size, s);
	return store_open(a->url, s);
}

static void print_cache(struct store *s)
{
	struct store_cache_stats c;

	store_cache_stats(s, &c);
	if (c.max_bytes)
		printf("cache: %llu hits, %llu misses, %llu evictions, %llu of %llu bytes\n",
		       (unsigned long long)c.hits, (unsigned long long)c.misses,
		       (unsigned long long)c.evictions, (unsigned long long)c.bytes,
		       (unsigned long long)c.max_bytes);
}

static int do_put(struct store *s, const struct store_args *a)
{
	struct store_put_opts o = { .parent = a->generation, .has_parent = a->has_generation,
				    .local_dir = a->local_dir };
	struct store_put_stats st;

	if (store_put_image(s, a->image, a->dir, &o, &st) < 0)
		return -1;
	printf("committed image %s generation %llu: %llu files, %llu bytes, "
	       "%llu chunks, %llu new chunks (%llu bytes written), %llu rewritten\n",
	       a->image, (unsigned long long)st.generation,
	       (unsigned long long)st.files, (unsigned long long)st.logical_bytes,
	       (unsigned long long)st.chunks, (unsigned long long)st.chunks_new,
	       (unsigned long long)st.bytes_new,
	       (unsigned long long)st.chunks_rewritten);
	print_cache(s);
	return 0;
}

static int do_get(struct store *s, const struct store_args *a)
{
	struct store_get_stats st;

	if (store_get_image(s, a->image, a->has_generation ? a->generation : 0,
			    a->dir, &st) < 0)
		return -1;
	printf("fetched image %s generation %llu: %llu files, %llu bytes, %llu chunks\n",
	       a->image, (unsigned long long)st.generation,
	       (unsigned long long)st.files, (unsigned long long)st.logical_bytes,
	       (unsigned long long)st.chunks);
	print_cache(s);
	return 0;
}

static int do_gc(struct store *s, const struct store_args *a)
{
	struct store_gc_stats st;

	if (a->grace < STORE_REUSE_AGE + STORE_COMMIT_DEADLINE)
		fprintf(stderr, "picocenter store gc: warning: a grace below %ds is not "
			"safe while writers are active\n",
			STORE_REUSE_AGE + STORE_COMMIT_DEADLINE);
	if (store_gc(s, a->grace, a->dry_run, stdout, &st) < 0)
		return -1;
	printf("%llu chunks, %llu referenced, %llu unreferenced within the grace, "
	       "%llu %s, %llu temporary files (%llu bytes)\n",
	       (unsigned long long)st.chunks_total,
	       (unsigned long long)st.chunks_referenced,
	       (unsigned long long)st.chunks_young,
	       (unsigned long long)st.chunks_deleted,
	       a->dry_run ? "would be deleted" : "deleted",
	       (unsigned long long)st.tmp_deleted,
	       (unsigned long long)st.bytes_deleted);
	return 0;
}

static int do_rm(struct store *s, const struct store_args *a)
{
	uint64_t removed;

	if (store_rm_image(s, a->image, stdout, &removed) < 0)
		return -1;
	printf("removed image %s (%llu generations); its chunks go at the next gc\n",
	       a->image, (unsigned long long)removed);
	return 0;
}

static int run(const char *cmd, struct store *s, const struct store_args *a)
{
	if (!strcmp(cmd, "ls"))
		return store_ls(s, stdout);
	if (!strcmp(cmd, "du"))
		return store_du(s, stdout);
	if (!strcmp(cmd, "fsck"))
		return store_fsck(s, stdout);
	if (!strcmp(cmd, "gc"))
		return do_gc(s, a);
	if (!strcmp(cmd, "put"))
		return do_put(s, a);
	if (!strcmp(cmd, "rm"))
		return do_rm(s, a);
	return do_get(s, a);
}

int cmd_store(int argc, char **argv)
{
	static const char *const cmds[] = { "ls", "du", "fsck", "gc", "put", "get", "rm" };
	struct store_args a = { 0 };
	struct store *s;
	int known = 0, rc;

	for (size_t i = 0; argc >= 2 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		known |= !strcmp(argv[1], cmds[i]);
	if (!known)
		return store_usage();
	if (parse_args(argc, argv, &a) < 0) {
		fprintf(stderr, "picocenter store %s: %s\n", argv[1], err_msg());
		return store_usage();
	}
	if ((!strcmp(argv[1], "put") || !strcmp(argv[1], "get")) && (!a.image || !a.dir))
		return store_usage();
	if (!strcmp(argv[1], "rm") && !a.image)
		return store_usage();
	if (open_store(&a, &s) < 0) {
		fprintf(stderr, "picocenter store %s: %s\n", argv[1], err_msg());
		return 1;
	}
	rc = run(argv[1], s, &a);
	fflush(stdout);
	if (rc < 0)
		fprintf(stderr, "picocenter store %s: %s\n", argv[1], err_msg());
	store_close(s);
	return rc < 0 ? 1 : rc;
}

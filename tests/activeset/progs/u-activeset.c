/*
 * u-activeset.c - unit test of the ActiveSet file and policy
 * (src/mem/activeset.c): a written set parses back run by run; every kind
 * of bad input (checksum, truncation, bad fields, order) is refused with a
 * message; the k-of-n policy and the probe share behave as documented.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "common/err.h"
#include "mem/activeset.h"

static int failures;

#define CHECK(c, ...)                                                     \
	do {                                                              \
		if (!(c)) {                                               \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                     \
			fprintf(stderr, "\n");                            \
			failures++;                                       \
		}                                                         \
	} while (0)

/* body + its checksum line, as a writer would seal it */
static char *sealed(const char *body)
{
	size_t n = strlen(body);
	char *t = malloc(n + 32);

	snprintf(t, n + 32, "%sxxh3 %016llx\n", body,
		 (unsigned long long)XXH3_64bits(body, n));
	return t;
}

static void expect_bad(const char *body, const char *why, int seal)
{
	char *t = seal ? sealed(body) : strdup(body);
	struct mem_as as;
	int rc = mem_as_parse(t, strlen(t), &as);

	CHECK(rc < 0, "accepted %s", why);
	if (rc < 0)
		CHECK(strstr(err_msg(), "activeset") != NULL, "%s: message '%s'", why, err_msg());
	else
		mem_as_free(&as);
	free(t);
}

static void round_trip(void)
{
	struct mem_as_writer w;
	struct mem_as as;

	mem_as_writer_begin(&w, 7);
	mem_as_writer_proc(&w, 1);
	mem_as_writer_run(&w, 0x7f0000000000ull, 256, 1);
	mem_as_writer_run(&w, 0x7f0000200000ull, 3, 2);
	mem_as_writer_proc(&w, 42);
	mem_as_writer_run(&w, 0x1000, 1, 3);
	CHECK(mem_as_writer_end(&w) == 0, "writer failed");
	CHECK(mem_as_parse(w.buf, w.len, &as) == 0, "round trip: %s", err_msg());
	CHECK(as.revival == 7 && as.n == 2, "revival %llu, %zu procs",
	      (unsigned long long)as.revival, as.n);
	CHECK(as.n == 2 && as.procs[0].pid == 1 && as.procs[0].n == 2 &&
	      as.procs[0].runs[1].addr == 0x7f0000200000ull && as.procs[0].runs[1].nr_pages == 3 &&
	      as.procs[0].runs[1].mask == 2 && as.procs[1].pid == 42 &&
	      as.procs[1].runs[0].mask == 3, "runs differ");
	CHECK(mem_as_find(&as, 42) == &as.procs[1] && !mem_as_find(&as, 5), "find");
	/* Every single flipped byte is refused (the checksum, or a field). */
	for (size_t i = 0; i < w.len; i++) {
		struct mem_as bad;

		w.buf[i] ^= 0x20;
		if (mem_as_parse(w.buf, w.len, &bad) == 0) {
			CHECK(0, "flipped byte %zu accepted", i);
			mem_as_free(&bad);
		}
		w.buf[i] ^= 0x20;
	}
	for (size_t n = 0; n < w.len; n++) {
		struct mem_as bad;

		if (mem_as_parse(w.buf, n, &bad) == 0) {
			CHECK(0, "truncated to %zu accepted", n);
			mem_as_free(&bad);
		}
	}
	mem_as_free(&as);
	mem_as_writer_free(&w);
}

static void bad_fields(void)
{
	expect_bad("picocenter-activeset 1\nrevival 1\nproc 1\nr 1000 1 1\n", "no checksum", 0);
	expect_bad("picocenter-activeset 2\nrevival 1\n", "another version", 1);
	expect_bad("picocenter-activeset 1\nr 1000 1 1\n", "a run before a proc", 1);
	expect_bad("picocenter-activeset 1\nproc 0\n", "pid 0", 1);
	expect_bad("picocenter-activeset 1\nproc 1\nproc 1\n", "a pid twice", 1);
	expect_bad("picocenter-activeset 1\nproc 1\nr 1001 1 1\n", "an unaligned address", 1);
	expect_bad("picocenter-activeset 1\nproc 1\nr 1000 0 1\n", "an empty run", 1);
	expect_bad("picocenter-activeset 1\nproc 1\nr 1000 1 0\n", "mask 0", 1);
	expect_bad("picocenter-activeset 1\nproc 1\nr 1000 1 4\n", "a mask beyond the history", 1);
	expect_bad("picocenter-activeset 1\nproc 1\nr 3000 1 1\nr 1000 1 1\n", "runs out of order", 1);
	expect_bad("picocenter-activeset 1\nproc 1\nr 1000 2 1\nr 2000 1 1\n", "overlapping runs", 1);
	expect_bad("picocenter-activeset 1\nproc 1\nr fffffffffffff000 2 1\n", "a run past the address space", 1);
	expect_bad("picocenter-activeset 1\nproc 1\nr 1000 1 1 junk\n", "trailing junk", 1);
	expect_bad("picocenter-activeset 1\nwhat 1\n", "an unknown line", 1);
}

static void policy(void)
{
	size_t probes = 0, n = 1 << 16;

	CHECK(mem_as_wanted(1) && mem_as_wanted(2) && mem_as_wanted(3) && !mem_as_wanted(0),
	      "k=1 of n=2");
	CHECK(mem_as_next_mask(0, 1) == 1 && mem_as_next_mask(1, 0) == 2 &&
	      mem_as_next_mask(2, 0) == 0 && mem_as_next_mask(3, 1) == 3, "history shift");
	for (size_t i = 0; i < n; i++)
		probes += mem_as_is_probe(0x7f0000000000ull + i * 4096, 3);
	CHECK(probes > n / MEM_AS_PROBE_EVERY / 2 && probes < n / MEM_AS_PROBE_EVERY * 2,
	      "%zu probes among %zu pages", probes, n);
	probes = 0;
	for (size_t i = 0; i < 4096; i++)
		probes += mem_as_is_probe(0x7f0000000000ull + i * 4096, 3) &&
			  mem_as_is_probe(0x7f0000000000ull + i * 4096, 4);
	CHECK(probes == 0, "the same page is a probe in two revivals in a row");
}

int main(void)
{
	round_trip();
	bad_fields();
	policy();
	if (failures)
		return 1;
	printf("u-activeset: all checks passed\n");
	return 0;
}

/*
 * mem_activeset.c - libFuzzer target for the ActiveSet record parser
 * (mem_as_parse, src/mem/activeset.c).
 *
 * Each input is parsed as it is (exercising the checksum line), then with
 * its checksum line replaced (or appended) by a correct one, so that
 * mutations reach the line parser.  A rejected parse must leave the set
 * empty; an accepted one is written again with the writer, and that text
 * must parse to the same set.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "mem/activeset.h"

static int same(const struct mem_as *a, const struct mem_as *b)
{
	if (a->revival != b->revival || a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct mem_as_proc *p = &a->procs[i], *q = &b->procs[i];

		if (p->pid != q->pid || p->n != q->n)
			return 0;
		for (size_t j = 0; j < p->n; j++)
			if (p->runs[j].addr != q->runs[j].addr ||
			    p->runs[j].nr_pages != q->runs[j].nr_pages ||
			    p->runs[j].mask != q->runs[j].mask)
				return 0;
	}
	return 1;
}

/* parse(write(as)) == as */
static void roundtrip(const struct mem_as *as)
{
	struct mem_as_writer w;
	struct mem_as again;

	mem_as_writer_begin(&w, as->revival);
	for (size_t i = 0; i < as->n; i++) {
		mem_as_writer_proc(&w, as->procs[i].pid);
		for (size_t j = 0; j < as->procs[i].n; j++)
			mem_as_writer_run(&w, as->procs[i].runs[j].addr,
					  as->procs[i].runs[j].nr_pages, as->procs[i].runs[j].mask);
	}
	if (mem_as_writer_end(&w) < 0 || mem_as_parse(w.buf, w.len, &again) < 0)
		abort();   /* what we write, we must read */
	if (!same(as, &again))
		abort();
	mem_as_free(&again);
	mem_as_writer_free(&w);
}

static void parse_once(const char *text, size_t len)
{
	struct mem_as as;

	memset(&as, 0x5a, sizeof(as));
	if (mem_as_parse(text, len, &as) == 0) {
		roundtrip(&as);
		mem_as_free(&as);
		return;
	}
	if (as.n || as.procs || as.revival)
		abort();   /* a failed parse must leave it empty */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const size_t tail = sizeof("xxh3 0123456789abcdef\n") - 1;
	size_t body = size;
	char *sealed;

	parse_once((const char *)data, size);
	if (size >= tail && !memcmp(data + size - tail, "xxh3 ", 5))
		body = size - tail;
	sealed = malloc(body + tail + 1);
	if (!sealed)
		return 0;
	memcpy(sealed, data, body);
	snprintf(sealed + body, tail + 1, "xxh3 %016llx\n",
		 (unsigned long long)XXH3_64bits(data, body));
	parse_once(sealed, body + tail);
	free(sealed);
	return 0;
}

/*
 * report.c - store_ls() and store_du(): what images a store holds and how
 * much room they take, logically and after deduplication.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "store/internal.h"

static uint64_t manifest_bytes(const struct manifest *m)
{
	uint64_t n = 0;

	for (size_t i = 0; i < m->nfiles; i++)
		n += m->files[i].size;
	return n;
}

static void fmt_time(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, len, "%lld", (long long)t);
}

int store_ls(struct store *s, FILE *out)
{
	struct image_ref *refs;
	size_t n;

	if (image_list_all(&s->be, &refs, &n) < 0)
		return err_wrap("ls");
	fprintf(out, "%-32s %10s %6s %14s %s\n", "IMAGE", "GENERATION", "FILES",
		"BYTES", "CREATED");
	for (size_t i = 0; i < n; i++) {
		struct manifest m;
		char when[64];
		int rc;

		if (i + 1 < n && !strcmp(refs[i].name, refs[i + 1].name))
			continue;          /* only the newest generation */
		rc = image_read_manifest(&s->be, refs[i].name, refs[i].gen, &m);
		if (rc != 0) {
			fprintf(out, "%-32s %10llu %6s %14s %s\n", refs[i].name,
				(unsigned long long)refs[i].gen, "?", "?",
				rc == 1 ? "(removed)" : "(unreadable: run fsck)");
			err_clear();
			continue;
		}
		fmt_time(m.created, when, sizeof(when));
		fprintf(out, "%-32s %10llu %6zu %14llu %s\n", m.image,
			(unsigned long long)m.generation, m.nfiles,
			(unsigned long long)manifest_bytes(&m), when);
		manifest_free(&m);
	}
	image_refs_free(refs, n);
	return 0;
}

int store_du(struct store *s, FILE *out)
{
	struct catalog c;
	uint64_t logical = 0, refd_bytes = 0, all_bytes = 0, orphan_bytes = 0;
	size_t missing = 0, orphans = 0, images = 0;

	if (catalog_load(&s->be, &c, 0) < 0)
		return err_wrap("du");
	for (size_t i = 0; i < c.n; i++) {
		logical += manifest_bytes(&c.m[i]);
		images += i + 1 == c.n || strcmp(c.refs[i].name, c.refs[i + 1].name);
	}
	for (size_t i = 0; i < c.nmarks; i++) {
		const struct stored_chunk *sc = catalog_stored(&c, c.marks[i].hash);

		if (sc)
			refd_bytes += sc->size;
		else
			missing++;
	}
	for (size_t i = 0; i < c.nchunks; i++) {
		all_bytes += c.chunks[i].size;
		if (!catalog_marked(&c, c.chunks[i].hash)) {
			orphans++;
			orphan_bytes += c.chunks[i].size;
		}
	}
	for (size_t i = 0; i < c.packs.nmarks; i++) {
		const struct stored_chunk *sc = objects_stored(&c.packs, c.packs.marks[i].hash);

		if (sc)
			refd_bytes += sc->size;
		else
			missing++;
	}
	for (size_t i = 0; i < c.packs.n; i++) {
		all_bytes += c.packs.v[i].size;
		if (!objects_marked(&c.packs, c.packs.v[i].hash)) {
			orphans++;
			orphan_bytes += c.packs.v[i].size;
		}
	}
	fprintf(out, "images:              %zu (%zu generations)\n", images, c.n);
	fprintf(out, "logical bytes:       %llu\n", (unsigned long long)logical);
	fprintf(out, "referenced chunks:   %zu, packs %zu (%llu bytes stored)%s\n", c.nmarks,
		c.packs.nmarks, (unsigned long long)refd_bytes,
		missing ? " MISSING SOME: run fsck" : "");
	fprintf(out, "unreferenced chunks: %zu (%llu bytes; packs included)\n", orphans,
		(unsigned long long)orphan_bytes);
	fprintf(out, "stored bytes:        %llu in %zu chunks and %zu packs\n",
		(unsigned long long)all_bytes, c.nchunks, c.packs.n);
	fprintf(out, "dedup ratio:         %.2f\n",
		refd_bytes ? (double)logical / (double)refd_bytes : 0.0);
	catalog_free(&c);
	return 0;
}

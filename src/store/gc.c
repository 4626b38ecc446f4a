/*
 * gc.c - store_gc(): remove chunks and packs that no committed manifest
 * references and that are older than the grace period, and the temporary
 * files of
 * writers that crashed (older than the grace too: a live writer commits
 * within STORE_COMMIT_DEADLINE).
 *
 * Safe beside writers (docs/store.md, "Garbage collection"): chunks are
 * listed before manifests are read, so a chunk a writer stored after the
 * listing is not a candidate; a chunk a writer reuses was made young by
 * that writer (or is named by a committed manifest); writers commit within
 * STORE_COMMIT_DEADLINE; and each candidate's age is checked again right
 * before it is deleted.  A grace below STORE_REUSE_AGE +
 * STORE_COMMIT_DEADLINE loses that guarantee and is only for tests.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "store/internal.h"

/* One kind of object: chunks or packs. */
struct kind {
	const char *name;
	const struct objects *o;
	int pack;
};

/* Delete one unreferenced object if it is still old; 1 if spared. */
static int sweep_one(struct store *s, const struct kind *k, const struct stored_chunk *sc,
		     int64_t cutoff, int dry_run)
{
	char key[PACK_KEY_MAX > CHUNK_KEY_MAX ? PACK_KEY_MAX : CHUNK_KEY_MAX];
	uint64_t size;
	int64_t mtime;
	int rc;

	if (k->pack)
		pack_key(sc->hash, key);
	else
		chunk_key(sc->hash, key);
	if (dry_run)
		return 0;
	rc = backend_stat(&s->be, key, &size, &mtime);
	if (rc != 0)
		return rc;             /* gone already (1) or error (-1) */
	if (mtime >= cutoff)
		return 1;              /* reused meanwhile */
	return s->be.ops->del(s->be.be, key);
}

struct tmp_report {
	FILE *out;
	int dry_run;
	struct store_gc_stats *st;
};

static int report_tmp(const char *path, uint64_t size, int64_t mtime, void *arg)
{
	struct tmp_report *r = arg;

	(void)mtime;
	if (r->out)
		fprintf(r->out, "%s temporary file %s (%llu bytes)\n",
			r->dry_run ? "would delete" : "deleted", path, (unsigned long long)size);
	r->st->tmp_deleted++;
	r->st->bytes_deleted += size;
	return 0;
}

/* Crashed writers' temporary files older than cutoff. */
static int sweep_tmp_files(struct store *s, int64_t cutoff, int dry_run, FILE *out,
			   struct store_gc_stats *st)
{
	struct tmp_report tr = { out, dry_run, st };

	if (backend_sweep_tmp(&s->be, cutoff, dry_run, report_tmp, &tr) < 0)
		return err_wrap("gc: temporary files");
	return 0;
}

/* Every unreferenced object of one kind older than cutoff. */
static int sweep_kind(struct store *s, const struct kind *k, int64_t cutoff, int dry_run,
		      FILE *out, struct store_gc_stats *st)
{
	char hex[HASH_HEX];

	st->chunks_total += k->o->n;
	for (size_t i = 0; i < k->o->n; i++) {
		const struct stored_chunk *sc = &k->o->v[i];
		int rc;

		if (objects_marked(k->o, sc->hash)) {
			st->chunks_referenced++;
			continue;
		}
		if (sc->mtime >= cutoff) {
			st->chunks_young++;
			continue;
		}
		rc = sweep_one(s, k, sc, cutoff, dry_run);
		if (rc < 0)
			return err_wrap("gc");
		if (rc == 1) {
			st->chunks_young++;
			continue;
		}
		hash_hex(sc->hash, hex);
		if (out)
			fprintf(out, "%s %s %s (%llu bytes)\n", dry_run ? "would delete" : "deleted",
				k->name, hex, (unsigned long long)sc->size);
		st->chunks_deleted++;
		st->bytes_deleted += sc->size;
	}
	return 0;
}

int store_gc(struct store *s, int64_t grace_s, int dry_run, FILE *out,
	     struct store_gc_stats *st)
{
	struct store_gc_stats local;
	struct catalog c;
	struct objects chunks;
	int64_t cutoff = (int64_t)time(NULL) - grace_s;
	int rc;

	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (catalog_load(&s->be, &c, 1) < 0)
		return err_wrap("gc: not collecting");
	chunks = (struct objects){ c.chunks, c.nchunks, c.marks, c.nmarks };
	rc = sweep_kind(s, &(struct kind){ "chunk", &chunks, 0 }, cutoff, dry_run, out, st);
	if (rc == 0)
		rc = sweep_kind(s, &(struct kind){ "pack", &c.packs, 1 }, cutoff, dry_run, out, st);
	catalog_free(&c);
	return rc < 0 ? -1 : sweep_tmp_files(s, cutoff, dry_run, out, st);
}

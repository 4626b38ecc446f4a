/*
 * uidrange.c - a box's range of host uids and gids: the pool ranges are
 * taken from (BOX_UID_POOL_*, --uid-pool), the allocation of a free range
 * on this machine, and ids across the mapping.
 *
 * A range is taken while a box record holds it, in any boxes dir of the
 * machine: the dirs that ever made a box are listed, one path a line, in
 * the registry BOX_DIRS_REGISTRY (on disk, so that a box dir that outlives
 * a reboot keeps its ranges taken); an allocation reads the records of
 * every listed dir that still exists and drops the others from the list.
 * The caller holds the machine-wide lock (box.c), so two boxes, of one dir
 * or of two daemons', never share ids, and a removed box's record frees
 * its range; a dir whose last box is removed leaves the list.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box/box_int.h"
#include "common/err.h"

#define OVERFLOW_ID 65534u

struct range {
	uint64_t start, end;   /* [start, end) */
};

uint32_t box_id_inside(const struct box *b, uint32_t host_id)
{
	if (host_id < b->uid_base || host_id - b->uid_base >= b->cfg.uids)
		return OVERFLOW_ID;
	return host_id - b->uid_base;
}

uint32_t box_id_outside(const struct box *b, uint32_t box_id)
{
	if (box_id >= b->cfg.uids)
		return OVERFLOW_ID;
	return b->uid_base + box_id;
}

static int by_start(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

struct ranges {
	struct range *v;
	size_t n, cap;
};

static int ranges_add(struct ranges *r, uint64_t start, uint64_t end)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		struct range *g = realloc(r->v, cap * sizeof(*g));

		if (!g)
			return err_set("out of memory");
		r->v = g;
		r->cap = cap;
	}
	r->v[r->n++] = (struct range){ start, end };
	return 0;
}

int box_dir_records(const char *dir, int (*fn)(const struct box *, void *), void *arg)
{
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return errno == ENOENT ? 0 : err_sys("open %s", dir);
	while ((e = readdir(d))) {
		char path[BOX_PATH_MAX + 256];
		struct box o;

		if (e->d_name[0] == '.' || !box_name_valid(e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (box_record_read(path, &o) < 0)
			continue;
		if (fn(&o, arg) < 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	err_clear();
	return 0;
}

static int add_range(const struct box *o, void *r)
{
	return ranges_add(r, o->uid_base, (uint64_t)o->uid_base + o->cfg.uids);
}

/* The registry: the boxes dirs of this machine, those that exist. */
struct dirs {
	char **v;
	size_t n;
	int changed;      /* differs from the file */
};

static void dirs_free(struct dirs *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int dirs_add(struct dirs *l, const char *dir)
{
	char **g;

	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], dir))
			return 0;
	g = realloc(l->v, (l->n + 1) * sizeof(*g));
	if (!g || !(g[l->n] = strdup(dir))) {
		if (g)
			l->v = g;
		return err_set("out of memory");
	}
	l->v = g;
	l->n++;
	return 0;
}

static int dirs_read(struct dirs *l)
{
	char line[BOX_PATH_MAX + 2];
	FILE *f = fopen(BOX_DIRS_REGISTRY, "re");

	if (!f)
		return errno == ENOENT ? 0 : err_sys("open %s", BOX_DIRS_REGISTRY);
	while (fgets(line, sizeof(line), f)) {
		char *nl = strchr(line, '\n');
		struct stat st;

		if (nl)
			*nl = '\0';
		if (line[0] != '/' || stat(line, &st) < 0 || !S_ISDIR(st.st_mode)) {
			l->changed = 1;       /* a dir gone: dropped */
			continue;
		}
		if (dirs_add(l, line) < 0) {
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static int dirs_write(const struct dirs *l)
{
	char tmp[] = BOX_DIRS_REGISTRY ".tmp";
	FILE *f;
	int rc = 0;

	if (mkdir(BOX_DIRS_REGISTRY_DIR, 0755) < 0 && errno != EEXIST)
		return err_sys("mkdir %s", BOX_DIRS_REGISTRY_DIR);
	f = fopen(tmp, "we");
	if (!f)
		return err_sys("create %s", tmp);
	for (size_t i = 0; i < l->n; i++)
		fprintf(f, "%s\n", l->v[i]);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0)
		rc = -1;
	if (fclose(f) != 0 || rc < 0 || rename(tmp, BOX_DIRS_REGISTRY) < 0) {
		err_sys("write %s", BOX_DIRS_REGISTRY);
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* 1 if dir holds a box (a dir named as one). */
static int has_boxes(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int any = 0;

	if (!d)
		return 0;
	while (!any && (e = readdir(d)))
		any = e->d_name[0] != '.' && box_name_valid(e->d_name);
	closedir(d);
	return any;
}

void uidrange_forget_dir(const char *dir)
{
	struct dirs l = { 0 };
	int lock;

	if (has_boxes(dir))
		return;
	lock = box_lock_machine();
	if (lock < 0) {
		err_clear();
		return;
	}
	if (dirs_read(&l) == 0 && !has_boxes(dir)) {
		for (size_t i = 0; i < l.n; i++)
			if (!strcmp(l.v[i], dir)) {
				free(l.v[i]);
				l.v[i] = l.v[--l.n];
				l.changed = 1;
				break;
			}
		if (l.changed)
			dirs_write(&l);
	}
	dirs_free(&l);
	close(lock);
	err_clear();
}

int box_dirs_records(const char *dir, int (*fn)(const struct box *, void *), void *arg)
{
	struct dirs l = { 0 };
	int rc = dirs_read(&l);

	if (rc == 0)
		rc = dirs_add(&l, dir);
	for (size_t i = 0; rc == 0 && i < l.n; i++)
		rc = box_dir_records(l.v[i], fn, arg);
	dirs_free(&l);
	return rc;
}

/* The ranges of every box on this machine, sorted, in *r; dir (the one a
 * box is being made in) joins the registry. */
static int taken_ranges(const char *dir, struct ranges *r)
{
	struct dirs l = { 0 };
	size_t had;
	int rc = dirs_read(&l);

	had = l.n;
	if (rc == 0)
		rc = dirs_add(&l, dir);
	if (rc == 0 && (l.changed || l.n != had))
		rc = dirs_write(&l);
	for (size_t i = 0; rc == 0 && i < l.n; i++)
		rc = box_dir_records(l.v[i], add_range, r);
	dirs_free(&l);
	if (rc == 0 && r->n)
		qsort(r->v, r->n, sizeof(*r->v), by_start);
	return rc;
}

static int overlaps(const struct range *r, size_t n, uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < n && r[i].start < end; i++)
		if (r[i].end > start)
			return 1;
	return 0;
}

/* The first free range of c->uids ids in the pool, at a multiple of
 * c->uids from its base. */
static int first_fit(const struct box_config *c, const struct range *r, size_t n,
		     uint32_t *base)
{
	uint64_t pool_end = (uint64_t)c->uid_pool_base + c->uid_pool_count;
	uint64_t cand = c->uid_pool_base;

	for (size_t i = 0; i < n && cand + c->uids <= pool_end; i++) {
		if (r[i].end <= cand)
			continue;
		if (r[i].start >= cand + c->uids)
			break;
		cand = r[i].end - c->uid_pool_base;
		cand = c->uid_pool_base + (cand + c->uids - 1) / c->uids * c->uids;
	}
	if (cand + c->uids > pool_end)
		return err_set("uid range exhausted: no %" PRIu32 " free ids in the pool %" PRIu32
			       ":%" PRIu32, c->uids, c->uid_pool_base, c->uid_pool_count);
	*base = (uint32_t)cand;
	return 0;
}

int uidrange_alloc(const struct box_config *c, uint32_t want, uint32_t *base)
{
	struct ranges r = { 0 };
	int rc;

	if (!uidrange_pool_valid(c->uid_pool_base, c->uid_pool_count) ||
	    !uidrange_valid(c->uid_pool_base, c->uids))
		return err_set("bad uid pool %" PRIu32 ":%" PRIu32 " for %" PRIu32 " ids",
			       c->uid_pool_base, c->uid_pool_count, c->uids);
	if (taken_ranges(c->dir, &r) < 0) {
		free(r.v);
		return err_wrap("uid ranges");
	}
	if (want >= c->uid_pool_base &&
	    (uint64_t)want + c->uids <= (uint64_t)c->uid_pool_base + c->uid_pool_count &&
	    !overlaps(r.v, r.n, want, (uint64_t)want + c->uids)) {
		*base = want;
		rc = 0;
	} else {
		rc = first_fit(c, r.v, r.n, base);
	}
	free(r.v);
	return rc;
}

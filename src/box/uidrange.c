/*
 * uidrange.c - a box's range of host uids and gids: the pool ranges are
 * taken from (BOX_UID_POOL_*, --uid-pool), the allocation of a free range
 * under the boxes dir (the ranges of the box records there are taken; the
 * caller holds the dir's lock, so two boxes never share ids, and a
 * removed box's record frees its range), and ids across the mapping.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "box/box_int.h"
#include "common/err.h"

#define OVERFLOW_ID 65534u

struct range {
	uint64_t start, end;   /* [start, end) */
};

static int parse_u32(const char *s, char **end, uint32_t *v)
{
	unsigned long long n;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoull(s, end, 10);
	if (errno || n > UINT32_MAX)
		return -1;
	*v = (uint32_t)n;
	return 0;
}

int uidrange_pool_valid(uint32_t base, uint32_t count)
{
	return base >= 65536 && count > 0 && (uint64_t)base + count <= UINT32_MAX;
}

int uidrange_valid(uint32_t base, uint32_t uids)
{
	return uids >= BOX_UIDS_MIN && uids <= BOX_UIDS_MAX && uidrange_pool_valid(base, uids);
}

int box_parse_uid_pool(const char *s, struct box_config *cfg)
{
	uint32_t base, count;
	char *end;

	if (parse_u32(s, &end, &base) < 0 || *end != ':' ||
	    parse_u32(end + 1, &end, &count) < 0 || *end || !uidrange_pool_valid(base, count))
		return err_set("bad uid pool '%s' (BASE:COUNT, BASE >= 65536, "
			       "BASE + COUNT < 2^32)", s);
	cfg->uid_pool_base = base;
	cfg->uid_pool_count = count;
	return 0;
}

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

/* The ranges of the records under dir, sorted; *n of them. */
static int taken_ranges(const char *dir, struct range **out, size_t *n)
{
	struct range *r = NULL;
	size_t cap = 0;
	struct dirent *e;
	DIR *d = opendir(dir);

	*n = 0;
	if (!d)
		return err_sys("open %s", dir);
	while ((e = readdir(d))) {
		char path[BOX_PATH_MAX + 256];
		struct box o;

		if (e->d_name[0] == '.' || !box_name_valid(e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (box_record_read(path, &o) < 0)
			continue;
		if (*n == cap) {
			struct range *g = realloc(r, (cap = cap ? 2 * cap : 64) * sizeof(*r));

			if (!g) {
				free(r);
				closedir(d);
				return err_set("out of memory");
			}
			r = g;
		}
		r[(*n)++] = (struct range){ o.uid_base, (uint64_t)o.uid_base + o.cfg.uids };
	}
	closedir(d);
	err_clear();
	if (*n)
		qsort(r, *n, sizeof(*r), by_start);
	*out = r;
	return 0;
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
	struct range *r = NULL;
	size_t n;
	int rc;

	if (!uidrange_pool_valid(c->uid_pool_base, c->uid_pool_count) ||
	    !uidrange_valid(c->uid_pool_base, c->uids))
		return err_set("bad uid pool %" PRIu32 ":%" PRIu32 " for %" PRIu32 " ids",
			       c->uid_pool_base, c->uid_pool_count, c->uids);
	if (taken_ranges(c->dir, &r, &n) < 0)
		return -1;
	if (want >= c->uid_pool_base &&
	    (uint64_t)want + c->uids <= (uint64_t)c->uid_pool_base + c->uid_pool_count &&
	    !overlaps(r, n, want, (uint64_t)want + c->uids)) {
		*base = want;
		rc = 0;
	} else {
		rc = first_fit(c, r, n, base);
	}
	free(r);
	return rc;
}

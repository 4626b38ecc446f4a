/* placement.c - choose a worker for a new app (see placement.h). */
#include <stdint.h>
#include <string.h>

#include "hub/placement.h"

static int64_t free_after_reserve(const struct place_candidate *c)
{
	return c->mem_free - c->apps * PLACE_APP_RESERVE;
}

static int fits(const struct place_candidate *c, int64_t need)
{
	return c->ports_taken == 0 && free_after_reserve(c) >= need;
}

int64_t placement_need(uint64_t memory)
{
	if (memory == 0)
		return PLACE_APP_RESERVE;
	return memory > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)memory;
}

/* Is a a better home than b? */
static int better(const struct place_candidate *a, const struct place_candidate *b)
{
	if (a->tenant_apps != b->tenant_apps)
		return a->tenant_apps < b->tenant_apps;
	if (a->cached != b->cached)
		return a->cached;
	if (free_after_reserve(a) != free_after_reserve(b))
		return free_after_reserve(a) > free_after_reserve(b);
	return strcmp(a->name, b->name) < 0;
}

int placement_choose(const struct place_candidate *c, size_t n, int64_t need)
{
	int best = -1;

	for (size_t i = 0; i < n; i++)
		if (fits(&c[i], need) && (best < 0 || better(&c[i], &c[best])))
			best = (int)i;
	return best;
}

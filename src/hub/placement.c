/* placement.c - choose a worker for a new app (see placement.h). */
#include <string.h>

#include "hub/placement.h"

static int64_t free_after_reserve(const struct place_candidate *c)
{
	return c->mem_free - c->apps * PLACE_APP_RESERVE;
}

static int fits(const struct place_candidate *c)
{
	return c->ports_taken == 0 && free_after_reserve(c) >= PLACE_APP_RESERVE;
}

/* Is a a better home than b? */
static int better(const struct place_candidate *a, const struct place_candidate *b)
{
	if (a->tenant_apps != b->tenant_apps)
		return a->tenant_apps < b->tenant_apps;
	if (free_after_reserve(a) != free_after_reserve(b))
		return free_after_reserve(a) > free_after_reserve(b);
	return strcmp(a->name, b->name) < 0;
}

int placement_choose(const struct place_candidate *c, size_t n)
{
	int best = -1;

	for (size_t i = 0; i < n; i++)
		if (fits(&c[i]) && (best < 0 || better(&c[i], &c[best])))
			best = (int)i;
	return best;
}

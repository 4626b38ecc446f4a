/*
 * placement.h - which worker a new app goes to, as a pure choice over the
 * workers that are up (the registry gathers the facts in a transaction):
 *   - a worker where one of the app's ports is taken is out;
 *   - a worker's free memory is what it reported less a reserve for each
 *     app placed on it (PLACE_APP_RESERVE: the hub does not know an app's
 *     size before it runs); one without what this app needs left is out
 *     (its --memory limit, or the reserve when it has none);
 *   - of the rest, the one with the fewest apps of the same tenant
 *     (spreading a tenant), then one that has the app's image in its
 *     chunk cache (it reported so), then the most free memory, then by
 *     name.
 */
#ifndef PC_HUB_PLACEMENT_H
#define PC_HUB_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "hub/request.h"

#define PLACE_APP_RESERVE (64LL << 20)

struct place_candidate {
	char name[HUB_NAME_MAX + 1];
	int64_t mem_free;       /* as the worker last reported it */
	long apps;              /* apps placed on it */
	long tenant_apps;       /* of them, the tenant's */
	long ports_taken;       /* of the app's ports, those already taken there */
	int cached;             /* it has the app's image in its chunk cache */
};

/* What an app with a memory limit of memory bytes (0: none) needs free. */
int64_t placement_need(uint64_t memory);
/* Workers tried, at most, for one move under memory pressure. */
#define PLACE_TRIED_MAX 8
/* The index of the chosen candidate, or -1 when none can take the app. */
int placement_choose(const struct place_candidate *c, size_t n, int64_t need);

#endif

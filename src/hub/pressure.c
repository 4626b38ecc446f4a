/*
 * pressure.c - moves under memory pressure (hub_relieve, hub.h): a worker
 * whose heartbeat says it has less memory free than its own threshold
 * (its --mem-low) gets its largest running app (by --memory, placement's
 * reserve without one; ties by name) moved, through `app move`'s own path
 * (hubreg_app_move), to the up worker with the most memory free that
 * stays above its own threshold with the app on it.  One move per round,
 * then that worker is left alone for a while (its heartbeat must show
 * the memory freed).  With several hubs only the first of the live hubs
 * by name moves apps, so that two hubs do not both move one.
 */
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "hub/hub.h"
#include "hub/placement.h"

#define RELIEF_PAUSE_MS 5000    /* at least, between two moves off one worker */

static int64_t field(const json_t *o, const char *key)
{
	return (int64_t)json_integer_value(json_object_get(o, key));
}

/* This hub moves apps: no live hub's name sorts before its own. */
static int leading(struct hub *h)
{
	struct dns_ns ns[DNS_NS_MAX];
	size_t n = h->zone.servers ? h->zone.servers(h, ns, DNS_NS_MAX) : 0;

	for (size_t i = 0; i < n; i++)
		if (strcmp(ns[i].name, h->zone.self.name) < 0)
			return 0;
	return 1;
}

static int short_of_memory(const json_t *w)
{
	const char *state = json_string_value(json_object_get(w, "state"));

	return state && !strcmp(state, "up") && field(w, "mem_low_bytes") > 0 &&
	       field(w, "mem_free_bytes") < field(w, "mem_low_bytes");
}

/* The app to move off worker: its largest running one; NULL: none. */
static json_t *largest(const json_t *apps, int64_t *need)
{
	json_t *best = NULL;

	*need = 0;
	for (size_t i = 0; i < json_array_size(apps); i++) {
		json_t *a = json_array_get(apps, i);
		int64_t n = placement_need((uint64_t)field(a, "memory"));

		if (n > *need) {
			best = a;
			*need = n;
		}
	}
	return best;
}

/* Move app (need bytes) off worker `from` to the roomiest worker that can
 * take it: 1 moved, 0 none could, -1 failed. */
static int move_off(struct hub *h, const json_t *workers, const json_t *from, const json_t *app,
		    int64_t need)
{
	const char *src = json_string_value(json_object_get(from, "name"));
	const char *name = json_string_value(json_object_get(app, "name"));
	const char *tenant = json_string_value(json_object_get(app, "tenant"));
	char tried[PLACE_TRIED_MAX][64];
	size_t ntried = 0;

	while (ntried < PLACE_TRIED_MAX) {
		const json_t *to = NULL;
		json_t *out = NULL;
		int rc;

		for (size_t i = 0; i < json_array_size(workers); i++) {
			const json_t *w = json_array_get(workers, i);
			const char *wn = json_string_value(json_object_get(w, "name"));
			const char *st = json_string_value(json_object_get(w, "state"));
			int seen = 0;

			for (size_t k = 0; k < ntried; k++)
				seen |= !strcmp(tried[k], wn);
			if (seen || !st || strcmp(st, "up") || !strcmp(wn, src) ||
			    field(w, "mem_free_bytes") - need < field(w, "mem_low_bytes") ||
			    (to && field(w, "mem_free_bytes") <= field(to, "mem_free_bytes")))
				continue;
			to = w;
		}
		if (!to)
			return 0;
		snprintf(tried[ntried++], sizeof(tried[0]), "%s",
			 json_string_value(json_object_get(to, "name")));
		rc = hubreg_app_move(h->reg, tenant, name, tried[ntried - 1], &out);
		json_decref(out);
		if (rc == 0) {
			hub_log("worker %s is short of memory (%lld MiB free, under %lld): app %s "
				"(%lld MiB) moves to %s", src, (long long)(field(from, "mem_free_bytes") >> 20),
				(long long)(field(from, "mem_low_bytes") >> 20), name,
				(long long)(need >> 20), tried[ntried - 1]);
			return 1;
		}
		if (rc < 0)
			return -1;
		err_clear();            /* that worker cannot take it: the next one */
	}
	return 0;
}

int hub_relieve(struct hub *h)
{
	json_t *workers = NULL;
	int64_t now = hub_now_ms();
	int rc = 0;

	if (!leading(h))
		return 0;
	if (hubreg_worker_list(h->reg, &workers) < 0)
		return err_wrap("moves under memory pressure");
	for (size_t i = 0; rc == 0 && i < json_array_size(workers); i++) {
		const json_t *w = json_array_get(workers, i);
		const char *name = json_string_value(json_object_get(w, "name"));
		json_t *apps = NULL, *app;
		int64_t need;

		if (!short_of_memory(w) || now < field(h->relieved, name))
			continue;
		if (hubreg_running_on(h->reg, name, &apps) < 0) {
			rc = -1;
			break;
		}
		app = largest(apps, &need);
		rc = app ? move_off(h, workers, w, app, need) : 0;
		json_decref(apps);
		if (rc == 1) {
			json_object_set_new(h->relieved, name,
					    json_integer(now + (h->worker_timeout_ms > RELIEF_PAUSE_MS
								    ? h->worker_timeout_ms
								    : RELIEF_PAUSE_MS)));
			notify_change(&h->news);
		}
	}
	json_decref(workers);
	return rc < 0 ? err_wrap("moves under memory pressure") : 0;
}

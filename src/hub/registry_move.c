/*
 * registry_move.c - apps changing worker: the address DNS answers for an
 * app, which first moves an app whose worker is down to one that is up,
 * and `app move` (see registry.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "hub/registry_int.h"

/* In a transaction that moves app off its down worker old: no worker
 * holds it any more; if old had it running, it is restarted from its last
 * image, marked recovered with that image's time (app_runs); if it was
 * swapped out there it stays so ('asleep', no holder: the new worker
 * takes it over asleep and revives it on its first packet, DNS wake or
 * timer). */
static int reg_run_orphan(struct hub_registry *r, const char *app, const char *old)
{
	const char *p[] = { app, old };
	int rc = reg_exec(r, "UPDATE app_runs SET recovered_ms = CASE WHEN state IN " RAN
			  " AND image_ms > 0 THEN image_ms ELSE recovered_ms END, holder = '', "
			  "state = CASE WHEN state IN ('napping', 'asleep') AND image_ms > 0 THEN "
			  "'asleep' ELSE 'stored' END WHERE app = $1 AND holder = $2", 2, p, NULL,
			  NULL);

	return rc < 0 ? rc : 0;
}

struct app_home {
	char tenant[HUB_NAME_MAX + 1];
	char worker[HUB_NAME_MAX + 1];
	char address[HUB_ADDR_MAX];
	int up;
	char *spec;            /* JSON, malloc'd */
	int found;
	int running;           /* its workers reported it running (or none did) */
};

static int home_row(void *arg, int ncols, const char *const *v)
{
	struct app_home *h = arg;

	if (ncols < 6 || !v[0] || !v[1] || !v[2] || !v[3] || !v[4])
		return 1;
	h->running = !v[5] || !strcmp(v[5], "running");
	snprintf(h->tenant, sizeof(h->tenant), "%s", v[0]);
	snprintf(h->worker, sizeof(h->worker), "%s", v[1]);
	snprintf(h->address, sizeof(h->address), "%s", v[2]);
	h->up = !strcmp(v[3], "up");
	h->spec = strdup(v[4]);
	h->found = h->spec != NULL;
	return 1;
}

static int read_home(struct hub_registry *r, const char *name, struct app_home *h)
{
	const char *p[] = { name };

	free(h->spec);
	memset(h, 0, sizeof(*h));
	return reg_exec(r, "SELECT a.tenant, a.worker, w.address, w.state, a.spec, r.state "
		       "FROM apps a JOIN workers w ON w.name = a.worker "
		       "LEFT JOIN app_runs r ON r.app = a.name WHERE a.name = $1",
		    1, p, home_row, h) < 0 ? -1 : 0;
}

/* Move app name from its down worker to the one placement picks, in one
 * transaction: 0 (h updated), HUBREG_NOPLACE, DB_CONFLICT (it changed
 * meanwhile: read it again) or -1. */
/* The candidate for worker `to`, if it is up and can take the app;
 * HUBREG_BUSY with the reason if not. */
static int pick_target(const struct reg_candidates *cs, const char *to, const char *name,
		       int64_t need, int *best)
{
	for (size_t i = 0; i < cs->n; i++) {
		if (strcmp(cs->c[i].name, to))
			continue;
		if (placement_choose(&cs->c[i], 1, need) < 0)
			return reg_outcome(HUBREG_BUSY, "worker %s cannot take app %s: a port of it is "
				       "taken there or %lld MiB of memory are not free", to, name,
				       (long long)(need >> 20));
		*best = (int)i;
		return 0;
	}
	return reg_outcome(HUBREG_BUSY, "worker %s is not up", to);
}

static int move_once(struct hub_registry *r, const char *name, struct app_home *h,
		     struct reg_candidates *cs, const char *to)
{
	struct app_spec spec;
	json_error_t jerr;
	json_t *sj = json_loads(h->spec, 0, &jerr);
	int rc, best;

	if (!sj || spec_from_json(sj, &spec) < 0) {
		json_decref(sj);
		return err_set("app %s: its recorded spec does not parse", name);
	}
	json_decref(sj);
	if (reg_begin(r) < 0) {
		spec_free(&spec);
		return -1;
	}
	rc = reg_gather_candidates(r, h->tenant, &spec, cs);
	best = -1;
	if (rc == 0 && to)
		rc = pick_target(cs, to, name, placement_need(spec.memory), &best);
	else if (rc == 0)
		best = placement_choose(cs->c, cs->n, placement_need(spec.memory));
	if (rc == 0 && best < 0)
		rc = reg_outcome(HUBREG_NOPLACE, "no worker that is up can take app %s", name);
	if (rc == 0) {
		const char *p[] = { cs->c[best].name, name, h->worker };

		rc = reg_exec(r, "UPDATE apps SET worker = $1 WHERE name = $2 AND worker = $3", 3, p,
			  NULL, NULL);
		rc = rc == 0 ? DB_CONFLICT : (rc < 0 ? rc : 0);
	}
	if (rc == 0) {
		const char *p[] = { name };

		rc = reg_exec(r, "DELETE FROM app_ports WHERE app = $1", 1, p, NULL, NULL);
		rc = rc < 0 ? rc : reg_insert_ports(r, &spec, cs->c[best].name);
	}
	if (rc == 0)
		rc = reg_zone_bump(r);
	if (rc == 0 && !to)
		rc = reg_run_orphan(r, name, h->worker);
	if (rc == 0 && to) {          /* a new move: the last one's failure is old news */
		const char *p[] = { name };

		rc = reg_exec(r, "DELETE FROM app_errors WHERE app = $1", 1, p, NULL, NULL);
		rc = rc < 0 ? rc : 0;
	}
	spec_free(&spec);
	if (rc != 0)
		return reg_rollback(r, rc);
	if (reg_commit(r) < 0)
		return reg_rollback(r, -1);
	return 0;
}

int hubreg_app_address(struct hub_registry *r, const char *name, char *addr, size_t len,
		       char *moved_from, int *stored)
{
	struct app_home h = { 0 };
	struct reg_candidates *cs = NULL;
	int rc;

	moved_from[0] = '\0';
	pthread_mutex_lock(&r->lock);
	rc = read_home(r, name, &h);
	for (int i = 0; rc == 0 && h.found && !h.up && i < PLACE_TRIES; i++) {
		char old[HUB_NAME_MAX + 1];

		if (!cs && !(cs = malloc(sizeof(*cs)))) {
			rc = err_set("out of memory");
			break;
		}
		snprintf(old, sizeof(old), "%s", h.worker);
		rc = move_once(r, name, &h, cs, NULL);
		if (rc == HUBREG_NOPLACE) {
			rc = 0;            /* it stays where it was */
			break;
		}
		if (rc == 0)
			snprintf(moved_from, HUB_NAME_MAX + 1, "%s", old);
		if (rc == 0 || rc == DB_CONFLICT)
			rc = read_home(r, name, &h);
	}
	pthread_mutex_unlock(&r->lock);
	free(cs);
	if (rc == 0 && h.found)
		snprintf(addr, len, "%s", h.address);
	*stored = h.found && !h.running;
	free(h.spec);
	if (rc < 0)
		return -1;
	return h.found ? 0 : HUBREG_NOTFOUND;
}

int hubreg_app_taking(struct hub_registry *r, const char *name)
{
	const char *p[] = { name };
	int rc = reg_exec_locked(r, "SELECT 1 FROM apps a JOIN workers w ON w.name = a.worker "
				 "JOIN app_runs r ON r.app = a.name WHERE a.name = $1 AND "
				 "w.state = 'up' AND r.holder = '' AND r.image_ms > 0", 1, p, NULL,
				 NULL);

	return rc < 0 ? -1 : rc > 0;
}

int hubreg_app_move(struct hub_registry *r, const char *tenant, const char *name,
		    const char *to, json_t **out)
{
	struct app_home h = { 0 };
	struct reg_candidates *cs = malloc(sizeof(*cs));
	int rc;

	if (!cs)
		return err_set("out of memory");
	pthread_mutex_lock(&r->lock);
	rc = read_home(r, name, &h);
	for (int i = 0; rc == 0 && i < PLACE_TRIES; i++) {
		if (!h.found || strcmp(h.tenant, tenant)) {
			rc = reg_outcome(HUBREG_NOTFOUND, "no such app");
			break;
		}
		if (!strcmp(h.worker, to)) {
			rc = reg_outcome(HUBREG_BUSY, "app %s is on %s already", name, to);
			break;
		}
		rc = move_once(r, name, &h, cs, to);
		if (rc == DB_CONFLICT)
			rc = read_home(r, name, &h);
		else
			break;
	}
	pthread_mutex_unlock(&r->lock);
	free(cs);
	free(h.spec);
	if (rc == DB_CONFLICT)
		return err_set("app %s kept changing while it was moved", name);
	if (rc != 0)
		return rc < 0 ? -1 : rc;
	return hubreg_app_get(r, tenant, name, out);
}

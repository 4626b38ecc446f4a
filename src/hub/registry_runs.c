/*
 * registry_runs.c - what the workers report of the apps they run
 * (app_runs: the worker that holds each app, its state there, the time of
 * its newest image in the store, and when it was recovered from one), and
 * the apps of a worker that went down (see registry.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "hub/registry_int.h"

/* Held: upsert the row, if the app is placed on the worker. */
static int report_held(struct hub_registry *r, const char *worker, const struct run_report *rep,
		       const char *img)
{
	const char *p[] = { rep->app, worker, rep->state, img };
	int rc = reg_exec(r, "SELECT 1 FROM apps WHERE name = $1 AND worker = $2", 2, p, NULL, NULL);

	if (rc == 0)
		return reg_outcome(HUBREG_BUSY, "app %s is not placed on worker %s: let it go",
				   rep->app, worker);
	if (rc < 0)
		return rc;
	rc = reg_exec(r, "INSERT INTO app_runs (app, holder, state, image_ms, recovered_ms) "
		     "VALUES ($1, $2, $3, CAST($4 AS BIGINT), 0) ON CONFLICT (app) DO UPDATE SET "
		     "holder = excluded.holder, state = excluded.state, image_ms = CASE WHEN "
		     "excluded.image_ms > app_runs.image_ms THEN excluded.image_ms ELSE "
		     "app_runs.image_ms END", 4, p, NULL, NULL);
	if (rc >= 0 && rep->box_addr[0]) {
		const char *q[] = { rep->app, rep->box_addr };

		rc = reg_exec(r, "INSERT INTO app_boxes (app, addr) VALUES ($1, $2) ON CONFLICT "
			     "(app) DO UPDATE SET addr = excluded.addr", 2, q, NULL, NULL);
	}
	return rc < 0 ? rc : 0;
}

/* Let go: only by its holder. */
static int report_gone(struct hub_registry *r, const char *worker, const struct run_report *rep,
		       const char *img)
{
	const char *p[] = { rep->app, worker, img };
	int rc = reg_exec(r, "UPDATE app_runs SET holder = '', state = 'stored', image_ms = CASE WHEN "
			  "CAST($3 AS BIGINT) > image_ms THEN CAST($3 AS BIGINT) ELSE image_ms END "
			  "WHERE app = $1 AND holder = $2", 3, p, NULL, NULL);

	if (rc == 0)
		return reg_outcome(HUBREG_BUSY, "worker %s does not hold app %s", worker, rep->app);
	return rc < 0 ? rc : 0;
}

/* The app's spec and the worker it is placed on, if `holder` holds it. */
struct held_app {
	char *spec;
	char worker[HUB_NAME_MAX + 1];
};

static int held_app_row(void *arg, int ncols, const char *const *v)
{
	struct held_app *h = arg;

	if (ncols < 2 || !v[0] || !v[1] || h->spec)
		return 1;
	snprintf(h->worker, sizeof(h->worker), "%s", v[1]);
	h->spec = strdup(v[0]);
	return h->spec ? 1 : -1;
}

/* The record of app (held by worker) goes back to worker: its placement
 * and its ports (HUBREG_BUSY if one of them is taken there now). */
static int move_back(struct hub_registry *r, const char *worker, const char *app,
		     const char *spec_doc)
{
	const char *p[] = { app, worker };
	struct app_spec spec;
	json_error_t jerr;
	json_t *sj = json_loads(spec_doc, 0, &jerr);
	int rc;

	if (!sj || spec_from_json(sj, &spec) < 0) {
		json_decref(sj);
		return err_set("app %s: its recorded spec does not parse", app);
	}
	json_decref(sj);
	rc = reg_exec(r, "UPDATE apps SET worker = $2 WHERE name = $1", 2, p, NULL, NULL);
	if (rc >= 0)
		rc = reg_zone_bump(r);
	if (rc >= 0)
		rc = reg_exec(r, "DELETE FROM app_ports WHERE app = $1", 1, p, NULL, NULL);
	if (rc >= 0)
		rc = reg_insert_ports(r, &spec, worker);
	spec_free(&spec);
	if (rc == DB_CONFLICT)
		return reg_outcome(HUBREG_BUSY, "app %s cannot go back to worker %s: a port of it "
				   "is taken there now", app, worker);
	return rc < 0 ? rc : 0;
}

/* Its holder could not hand the app over (a move): the record goes back
 * to the holder, the failure kept for `app inspect` (app_errors). */
static int report_move_failed(struct hub_registry *r, const char *worker,
			      const struct run_report *rep)
{
	const char *p[] = { rep->app, worker };
	struct held_app h = { 0 };
	char why[HUB_MOVE_ERR_MAX + HUB_NAME_MAX + 64], now[24];
	struct timespec ts;
	int rc;

	rc = reg_exec(r, "SELECT a.spec, a.worker FROM apps a JOIN app_runs r ON r.app = a.name "
		     "WHERE a.name = $1 AND r.holder = $2", 2, p, held_app_row, &h);
	if (rc >= 0 && !h.spec)
		rc = reg_outcome(HUBREG_BUSY, "worker %s does not hold app %s", worker, rep->app);
	if (rc >= 0 && strcmp(h.worker, worker))
		rc = move_back(r, worker, rep->app, h.spec);
	clock_gettime(CLOCK_REALTIME, &ts);
	reg_fmt_i64(now, sizeof(now), (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	snprintf(why, sizeof(why), "the move to %s failed: %s", h.worker, rep->move_failed);
	free(h.spec);
	if (rc >= 0) {
		const char *q[] = { rep->app, why, now };

		rc = reg_exec(r, "INSERT INTO app_errors (app, error, at_ms) VALUES ($1, $2, "
			     "CAST($3 AS BIGINT)) ON CONFLICT (app) DO UPDATE SET error = "
			     "excluded.error, at_ms = excluded.at_ms", 3, q, NULL, NULL);
	}
	return rc < 0 ? rc : 0;
}

/* The due time of the app's image's earliest timer, as its holder says
 * (none: running, or no timer). */
static int put_timer(struct hub_registry *r, const struct run_report *rep)
{
	char due[24];
	const char *p[] = { rep->app, due };

	reg_fmt_i64(due, sizeof(due), rep->timer_due_ms);
	if (rep->timer_due_ms <= 0)
		return reg_exec(r, "DELETE FROM app_timers WHERE app = $1", 1, p, NULL, NULL);
	return reg_exec(r, "INSERT INTO app_timers (app, due_ms) VALUES ($1, CAST($2 AS BIGINT)) "
			"ON CONFLICT (app) DO UPDATE SET due_ms = excluded.due_ms", 2, p, NULL, NULL);
}

int hubreg_app_report(struct hub_registry *r, const char *worker, const struct run_report *rep)
{
	const char *p[] = { rep->app };
	char img[24];
	int rc;

	reg_fmt_i64(img, sizeof(img), rep->image_ms);
	pthread_mutex_lock(&r->lock);
	if (reg_begin(r) < 0) {
		pthread_mutex_unlock(&r->lock);
		return -1;
	}
	rc = reg_exec(r, "SELECT 1 FROM apps WHERE name = $1", 1, p, NULL, NULL);
	if (rc == 0)
		rc = reg_outcome(HUBREG_NOTFOUND, "no such app");
	else if (rc > 0) {
		rc = rep->move_failed[0] ? report_move_failed(r, worker, rep) : 0;
		if (rc == 0)
			rc = rep->held ? report_held(r, worker, rep, img)
				       : report_gone(r, worker, rep, img);
		if (rc == 0 && put_timer(r, rep) < 0)
			rc = -1;
	}
	if (rc == 0)
		rc = reg_commit(r) < 0 ? -1 : 0;
	if (rc != 0)
		reg_rollback(r, rc);
	pthread_mutex_unlock(&r->lock);
	return rc < 0 ? -1 : rc;
}

/* [NAME, RAN] */
static int name_row(void *arg, int ncols, const char *const *v)
{
	json_t *list = arg;

	if (ncols < 2 || !v[0])
		return 0;
	return json_array_append_new(list, json_pack("[s, b]", v[0], v[1] && !strcmp(v[1], "1")));
}

int hubreg_rehome(struct hub_registry *r,
		  void (*fn)(const char *app, const char *from, const char *addr, int ran, void *arg),
		  void *arg)
{
	json_t *names = json_array();
	int rc, moved = 0;

	if (!names)
		return err_set("out of memory");
	pthread_mutex_lock(&r->lock);
	rc = reg_exec(r, "SELECT a.name, CASE WHEN r.app IS NULL OR r.state IN " RAN " THEN 1 "
		     "ELSE 0 END FROM apps a JOIN workers w ON w.name = a.worker "
		     "LEFT JOIN app_runs r ON r.app = a.name WHERE w.state = 'down'", 0, NULL,
		     name_row, names);
	pthread_mutex_unlock(&r->lock);
	for (size_t i = 0; rc >= 0 && i < json_array_size(names); i++) {
		const char *name = json_string_value(json_array_get(json_array_get(names, i), 0));
		int ran = json_is_true(json_array_get(json_array_get(names, i), 1));
		char addr[HUB_ADDR_MAX], from[HUB_NAME_MAX + 1];
		int stored;

		rc = hubreg_app_address(r, name, addr, sizeof(addr), from, &stored);
		if (rc == HUBREG_NOTFOUND)      /* removed meanwhile */
			rc = 0;
		else if (rc == 0 && from[0]) {
			moved++;
			fn(name, from, addr, ran, arg);
		}
	}
	json_decref(names);
	return rc < 0 ? -1 : moved;
}

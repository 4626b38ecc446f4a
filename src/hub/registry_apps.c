/*
 * registry_apps.c - the hub's apps in its registry: their records,
 * placement on a worker, the ports they take and their tenants' limits
 * (see registry.h).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "hub/registry_int.h"

#define APP_COLUMNS "a.name, a.tenant, a.worker, w.address, a.state, a.spec, a.image, " \
		    "a.created_ms, w.state, r.holder, r.state, r.image_ms, r.recovered_ms, " \
		    "hw.state, e.error, e.at_ms, b.addr, t.due_ms"
#define APP_FROM "FROM apps a LEFT JOIN workers w ON w.name = a.worker " \
		 "LEFT JOIN app_runs r ON r.app = a.name LEFT JOIN workers hw ON hw.name = r.holder " \
		 "LEFT JOIN app_errors e ON e.app = a.name LEFT JOIN app_boxes b ON b.app = a.name " \
		 "LEFT JOIN app_timers t ON t.app = a.name"

/* What the workers reported (app_runs; NULLs when none did yet):
 * "holder" (the worker that has it, "" none), "holder_state", "image_ms"
 * (its newest image, 0 none), "recovered" (the image's time when the app
 * was restarted from it after its worker went down, else null). */
static int run_json(json_t *o, const char *const *v)
{
	int64_t rec = reg_to_i64(v[3]);

	return json_object_set_new(o, "holder", json_string(v[0] ? v[0] : "")) |
	       json_object_set_new(o, "holder_state", v[4] ? json_string(v[4]) : json_null()) |
	       json_object_set_new(o, "image_ms", json_integer(reg_to_i64(v[2]))) |
	       json_object_set_new(o, "recovered", rec > 0 ? json_integer(rec) : json_null());
}

/* One app object: its spec's fields and the hub's. */
static json_t *app_json(const char *const *v)
{
	json_error_t jerr;
	json_t *o = v[5] ? json_loads(v[5], 0, &jerr) : NULL;

	if (!json_is_object(o)) {
		json_decref(o);
		o = json_pack("{s:s}", "name", v[0]);
		if (!o)
			return NULL;
	}
	json_object_set_new(o, "tenant", json_string(v[1]));
	json_object_set_new(o, "worker", json_string(v[2]));
	json_object_set_new(o, "address", v[3] ? json_string(v[3]) : json_null());
	json_object_set_new(o, "state", json_string(v[10] ? v[10] : v[4]));
	json_object_set_new(o, "image", json_string(v[6]));
	json_object_set_new(o, "created", json_integer(reg_to_i64(v[7])));
	json_object_set_new(o, "worker_state", v[8] ? json_string(v[8]) : json_null());
	/* the last move that failed (its holder kept the app), until the next move */
	json_object_set_new(o, "move_failed", v[14] ? json_string(v[14]) : json_null());
	json_object_set_new(o, "move_failed_at", v[14] ? json_integer(reg_to_i64(v[15])) : json_null());
	/* its box's address where it last ran (a worker reviving it keeps it) */
	json_object_set_new(o, "box_addr", v[16] ? json_string(v[16]) : json_null());
	/* when its image's earliest timer is due: whoever holds it wakes it then */
	json_object_set_new(o, "timer_due_ms", v[17] ? json_integer(reg_to_i64(v[17])) : json_null());
	return run_json(o, v + 9) < 0 ? (json_decref(o), NULL) : o;
}

static int running_row(void *arg, int ncols, const char *const *v)
{
	json_error_t jerr;
	json_t *spec = ncols >= 3 && v[2] ? json_loads(v[2], 0, &jerr) : NULL;
	json_int_t mem = json_integer_value(json_object_get(spec, "memory"));

	json_decref(spec);
	if (ncols < 3 || !v[0] || !v[1])
		return 0;
	return json_array_append_new(arg, json_pack("{s:s, s:s, s:I}", "name", v[0], "tenant",
						    v[1], "memory", mem > 0 ? mem : 0));
}

int hubreg_running_on(struct hub_registry *r, const char *worker, json_t **out)
{
	json_t *list = json_array();
	const char *p[] = { worker };
	int rc;

	if (!list)
		return err_set("out of memory");
	rc = reg_exec_locked(r, "SELECT a.name, a.tenant, a.spec FROM apps a JOIN app_runs r ON "
			     "r.app = a.name WHERE a.worker = $1 AND r.holder = $1 AND "
			     "r.state = 'running' ORDER BY a.name", 1, p, running_row, list);
	if (rc < 0) {
		json_decref(list);
		return -1;
	}
	*out = list;
	return 0;
}

static int app_row(void *arg, int ncols, const char *const *v)
{
	json_t *o;

	(void)ncols;
	o = app_json(v);
	return o ? json_array_append_new(arg, o) : -1;
}

static int app_query(struct hub_registry *r, const char *where, int n, const char *const *p,
		     json_t **out)
{
	char sql[512];
	json_t *list = json_array();
	int rc;

	if (!list)
		return err_set("out of memory");
	snprintf(sql, sizeof(sql), "SELECT " APP_COLUMNS " " APP_FROM " WHERE %s ORDER BY a.name",
		 where);
	pthread_mutex_lock(&r->lock);
	rc = reg_exec(r, sql, n, p, app_row, list);
	pthread_mutex_unlock(&r->lock);
	if (rc < 0) {
		json_decref(list);
		return -1;
	}
	*out = list;
	return 0;
}

int hubreg_app_list(struct hub_registry *r, const char *tenant, json_t **out)
{
	const char *p[] = { tenant };

	return app_query(r, "a.tenant = $1", 1, p, out);
}

int hubreg_worker_apps(struct hub_registry *r, const char *worker, json_t **out)
{
	const char *p[] = { worker };

	return app_query(r, "a.worker = $1 OR r.holder = $1", 1, p, out);
}

/* The one app where says, or HUBREG_NOTFOUND. */
static int app_one(struct hub_registry *r, const char *where, int n, const char *const *p,
		   json_t **out)
{
	json_t *list;

	if (app_query(r, where, n, p, &list) < 0)
		return -1;
	if (json_array_size(list) == 0) {
		json_decref(list);
		return reg_outcome(HUBREG_NOTFOUND, "no such app");
	}
	*out = json_incref(json_array_get(list, 0));
	json_decref(list);
	return 0;
}

int hubreg_app_get(struct hub_registry *r, const char *tenant, const char *name, json_t **out)
{
	const char *p[] = { tenant, name };

	return app_one(r, "a.tenant = $1 AND a.name = $2", 2, p, out);
}

int hubreg_app_any(struct hub_registry *r, const char *name, json_t **out)
{
	const char *p[] = { name };

	return app_one(r, "a.name = $1", 1, p, out);
}

int hubreg_app_remove(struct hub_registry *r, const char *tenant, const char *name)
{
	const char *p[] = { name, tenant };
	int rc;

	pthread_mutex_lock(&r->lock);
	if (reg_begin(r) < 0) {
		pthread_mutex_unlock(&r->lock);
		return -1;
	}
	rc = reg_exec(r, "DELETE FROM app_ports WHERE app IN (SELECT name FROM apps WHERE "
		     "name = $1 AND tenant = $2)", 2, p, NULL, NULL);
	if (rc >= 0)
		rc = reg_exec(r, "DELETE FROM app_runs WHERE app IN (SELECT name FROM apps WHERE "
			     "name = $1 AND tenant = $2)", 2, p, NULL, NULL);
	if (rc >= 0)
		rc = reg_exec(r, "DELETE FROM app_errors WHERE app IN (SELECT name FROM apps WHERE "
			     "name = $1 AND tenant = $2)", 2, p, NULL, NULL);
	if (rc >= 0)
		rc = reg_exec(r, "DELETE FROM app_asks WHERE app IN (SELECT name FROM apps WHERE "
			     "name = $1 AND tenant = $2)", 2, p, NULL, NULL);
	if (rc >= 0)
		rc = reg_exec(r, "DELETE FROM app_boxes WHERE app IN (SELECT name FROM apps WHERE "
			     "name = $1 AND tenant = $2)", 2, p, NULL, NULL);
	if (rc >= 0)
		rc = reg_exec(r, "DELETE FROM apps WHERE name = $1 AND tenant = $2", 2, p, NULL, NULL);
	if (rc > 0 && reg_zone_bump(r) < 0)
		rc = -1;
	if (rc == 0)
		rc = reg_outcome(HUBREG_NOTFOUND, "no such app");
	else if (rc > 0)
		rc = reg_commit(r) < 0 ? -1 : 0;
	if (rc != 0)
		reg_rollback(r, rc);
	pthread_mutex_unlock(&r->lock);
	return rc < 0 ? -1 : rc;
}

/* ---- placement ---- */

static int candidate_row(void *arg, int ncols, const char *const *v)
{
	struct reg_candidates *cs = arg;
	struct place_candidate *c;

	if (ncols < 6 || cs->n == PLACE_WORKERS_MAX)
		return 1;
	c = &cs->c[cs->n++];
	snprintf(c->name, sizeof(c->name), "%s", v[0]);
	c->mem_free = reg_to_i64(v[1]);
	c->apps = (long)reg_to_i64(v[2]);
	c->tenant_apps = (long)reg_to_i64(v[3]);
	c->ports_taken = (long)reg_to_i64(v[4]);
	c->cached = reg_to_i64(v[5]) > 0;
	return 0;
}

/* "p1,p2,..." of the host ports the app takes on its worker (validated
 * integers), "0" for none. */
static void port_list(const struct app_spec *spec, char *buf, size_t len)
{
	uint16_t host[APP_MAX_PORTS], app[APP_MAX_PORTS];
	size_t np = spec_port_pairs(spec, host, app), n = 0;

	snprintf(buf, len, "0");
	for (size_t i = 0; i < np && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%u", i ? "," : "", host[i]);
}

int reg_gather_candidates(struct hub_registry *r, const char *tenant,
			  const struct app_spec *spec, struct reg_candidates *cs)
{
	char ports[APP_MAX_PORTS * 7 + 2], sql[1024];
	const char *p[] = { tenant, spec->name };

	port_list(spec, ports, sizeof(ports));
	snprintf(sql, sizeof(sql),
		 "SELECT w.name, w.mem_free, "
		 "(SELECT count(*) FROM apps a WHERE a.worker = w.name), "
		 "(SELECT count(*) FROM apps a WHERE a.worker = w.name AND a.tenant = $1), "
		 "(SELECT count(*) FROM app_ports q WHERE q.worker = w.name AND q.port IN (%s)), "
		 "(SELECT count(*) FROM worker_cache k WHERE k.worker = w.name AND k.app = $2) "
		 "FROM workers w WHERE w.state = 'up' ORDER BY w.name",
		 ports);
	cs->n = 0;
	return reg_exec(r, sql, 2, p, candidate_row, cs) < 0 ? -1 : 0;
}

/* The host ports the app takes on worker; DB_CONFLICT if one is taken. */
int reg_insert_ports(struct hub_registry *r, const struct app_spec *spec, const char *worker)
{
	uint16_t host[APP_MAX_PORTS], app[APP_MAX_PORTS];
	size_t np = spec_port_pairs(spec, host, app);
	char port[8];
	int rc = 0;

	for (size_t i = 0; rc >= 0 && i < np; i++) {
		const char *q[] = { worker, port, spec->name };

		snprintf(port, sizeof(port), "%u", host[i]);
		rc = reg_exec(r, "INSERT INTO app_ports (worker, port, app) VALUES ($1, "
			     "CAST($2 AS INTEGER), $3)", 3, q, NULL, NULL);
	}
	return rc < 0 ? rc : 0;
}

static int insert_app(struct hub_registry *r, const char *tenant, const struct app_spec *spec,
		      const char *worker, int64_t now_ms)
{
	json_t *sj = spec_to_json(spec);
	char *doc = sj ? json_dumps(sj, JSON_COMPACT) : NULL;
	char now[24];
	const char *p[] = { spec->name, tenant, worker, doc, now };
	int rc;

	json_decref(sj);
	if (!doc)
		return err_set("out of memory");
	reg_fmt_i64(now, sizeof(now), now_ms);
	rc = reg_exec(r, "INSERT INTO apps (name, tenant, worker, state, spec, image, created_ms) "
		     "VALUES ($1, $2, $3, 'placed', $4, $1, CAST($5 AS BIGINT))", 5, p, NULL, NULL);
	free(doc);
	if (rc == DB_CONFLICT)
		return reg_outcome(HUBREG_EXISTS, "app name %s is taken", spec->name);
	if (rc >= 0)
		rc = reg_zone_bump(r);
	return rc < 0 ? rc : reg_insert_ports(r, spec, worker);
}

/* ---- tenants' limits ---- */

struct usage {
	int64_t limits[2];     /* max_apps, max_memory; 0: none */
	int has_limits;
	int64_t apps, memory;
};

static int limits_row(void *arg, int ncols, const char *const *v)
{
	struct usage *u = arg;

	if (ncols >= 2) {
		u->limits[0] = reg_to_i64(v[0]);
		u->limits[1] = reg_to_i64(v[1]);
		u->has_limits = 1;
	}
	return 1;
}

/* An app's share of its tenant's memory: its spec's "memory", or the reserve. */
static int usage_row(void *arg, int ncols, const char *const *v)
{
	struct usage *u = arg;
	json_error_t jerr;
	json_t *o = ncols > 0 && v[0] ? json_loads(v[0], 0, &jerr) : NULL;
	json_int_t mem = json_integer_value(json_object_get(o, "memory"));

	json_decref(o);
	u->apps++;
	u->memory += placement_need(mem > 0 ? (uint64_t)mem : 0);
	return 0;
}

/* Within a placing transaction: does the tenant's limit allow the app?
 * Its limits row is locked, so two hubs count one after the other. */
static int check_limits(struct hub_registry *r, const char *tenant, const struct app_spec *spec)
{
	struct usage u = { { 0, 0 }, 0, 0, 0 };
	const char *p[] = { tenant };
	char sql[160];
	int64_t need = placement_need(spec->memory);

	snprintf(sql, sizeof(sql), "SELECT max_apps, max_memory FROM tenant_limits WHERE "
		 "tenant = $1%s", r->db->ops->for_update);
	if (reg_exec(r, sql, 1, p, limits_row, &u) < 0)
		return -1;
	if (!u.has_limits)
		return 0;
	if (reg_exec(r, "SELECT spec FROM apps WHERE tenant = $1", 1, p, usage_row, &u) < 0)
		return -1;
	if (u.limits[0] > 0 && u.apps + 1 > u.limits[0])
		return reg_outcome(HUBREG_LIMIT, "tenant %s may have at most %" PRId64 " apps", tenant,
			       u.limits[0]);
	if (u.limits[1] > 0 && u.memory + need > u.limits[1])
		return reg_outcome(HUBREG_LIMIT, "tenant %s may use at most %" PRId64 " MiB of memory "
			       "(its apps take %" PRId64 " MiB, this one %" PRId64 " MiB)",
			       tenant, u.limits[1] >> 20, u.memory >> 20, need >> 20);
	return 0;
}

/* One try in one transaction; DB_CONFLICT when a port went meanwhile. */
static int place_once(struct hub_registry *r, const char *tenant, const struct app_spec *spec,
		      int64_t now_ms, struct reg_candidates *cs)
{
	const char *p[] = { spec->name };
	int rc, best;

	if (reg_begin(r) < 0)
		return -1;
	rc = reg_exec(r, "SELECT 1 FROM apps WHERE name = $1", 1, p, NULL, NULL);
	if (rc > 0)
		return reg_rollback(r, reg_outcome(HUBREG_EXISTS, "app name %s is taken", spec->name));
	if (rc == 0)
		rc = check_limits(r, tenant, spec);
	if (rc != 0)
		return reg_rollback(r, rc);
	if (reg_gather_candidates(r, tenant, spec, cs) < 0)
		return reg_rollback(r, -1);
	best = placement_choose(cs->c, cs->n, placement_need(spec->memory));
	if (best < 0)
		return reg_rollback(r, reg_outcome(HUBREG_NOPLACE,
					   "no worker can take the app (%zu up; it needs its "
					   "ports free and %lld MiB of memory to spare)",
					   cs->n, (long long)(placement_need(spec->memory) >> 20)));
	rc = insert_app(r, tenant, spec, cs->c[best].name, now_ms);
	if (rc != 0)
		return reg_rollback(r, rc);
	return reg_commit(r) < 0 ? reg_rollback(r, -1) : 0;
}

int hubreg_app_create(struct hub_registry *r, const char *tenant, const struct app_spec *spec,
		      int64_t now_ms, json_t **out)
{
	struct reg_candidates *cs = malloc(sizeof(*cs));
	int rc = DB_CONFLICT;

	if (!cs)
		return err_set("out of memory");
	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < PLACE_TRIES && rc == DB_CONFLICT; i++)
		rc = place_once(r, tenant, spec, now_ms, cs);
	pthread_mutex_unlock(&r->lock);
	free(cs);
	if (rc == DB_CONFLICT)
		return err_wrap("placement raced with another hub %d times", PLACE_TRIES);
	if (rc != 0)
		return rc < 0 ? -1 : rc;
	return hubreg_app_get(r, tenant, spec->name, out);
}

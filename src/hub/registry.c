/* registry.c - the hub's registry: its tables, the SQL helpers the
 * registry files share (registry_int.h), tenants, tokens and workers
 * (see registry.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "hub/registry_int.h"

static const char *const schema[] = {
	"CREATE TABLE IF NOT EXISTS tenants (name TEXT PRIMARY KEY, "
	"token_hash TEXT NOT NULL UNIQUE, created_ms BIGINT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS worker_tokens (token_hash TEXT PRIMARY KEY, "
	"created_ms BIGINT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS workers (name TEXT PRIMARY KEY, "
	"address TEXT NOT NULL UNIQUE, mem_total BIGINT NOT NULL, mem_free BIGINT NOT NULL, "
	"heartbeat_ms BIGINT NOT NULL, state TEXT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS apps (name TEXT PRIMARY KEY, "
	"tenant TEXT NOT NULL REFERENCES tenants(name), worker TEXT NOT NULL, "
	"state TEXT NOT NULL, spec TEXT NOT NULL, image TEXT NOT NULL, "
	"created_ms BIGINT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS tenant_limits (tenant TEXT PRIMARY KEY "
	"REFERENCES tenants(name), max_apps BIGINT NOT NULL, max_memory BIGINT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS app_ports (worker TEXT NOT NULL, port INTEGER NOT NULL, "
	"app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE, PRIMARY KEY (worker, port))",
	"CREATE TABLE IF NOT EXISTS app_runs (app TEXT PRIMARY KEY REFERENCES apps(name) "
	"ON DELETE CASCADE, holder TEXT NOT NULL, state TEXT NOT NULL, image_ms BIGINT NOT NULL, "
	"recovered_ms BIGINT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS app_errors (app TEXT PRIMARY KEY REFERENCES apps(name) "
	"ON DELETE CASCADE, error TEXT NOT NULL, at_ms BIGINT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS app_asks (id TEXT PRIMARY KEY, app TEXT NOT NULL "
	"REFERENCES apps(name) ON DELETE CASCADE, worker TEXT NOT NULL, op TEXT NOT NULL, "
	"created_ms BIGINT NOT NULL, status BIGINT NOT NULL, answer TEXT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS worker_cache (worker TEXT NOT NULL, app TEXT NOT NULL, "
	"PRIMARY KEY (worker, app))",
	"CREATE TABLE IF NOT EXISTS app_boxes (app TEXT PRIMARY KEY REFERENCES apps(name) "
	"ON DELETE CASCADE, addr TEXT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS app_timers (app TEXT PRIMARY KEY REFERENCES apps(name) "
	"ON DELETE CASCADE, due_ms BIGINT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS worker_memory_low (worker TEXT PRIMARY KEY, "
	"bytes BIGINT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS hubs (name TEXT PRIMARY KEY, address TEXT NOT NULL, "
	"heartbeat_ms BIGINT NOT NULL)",
	"CREATE TABLE IF NOT EXISTS zone_serial (id INTEGER PRIMARY KEY, serial BIGINT NOT NULL)",
	"INSERT INTO zone_serial (id, serial) VALUES (1, 1) ON CONFLICT DO NOTHING",
};

/* ---- small helpers ---- */

int reg_zone_bump(struct hub_registry *r)
{
	int rc = reg_exec(r, "UPDATE zone_serial SET serial = CASE WHEN serial >= 4294967295 "
			  "THEN 1 ELSE serial + 1 END WHERE id = 1", 0, NULL, NULL, NULL);

	return rc < 0 ? rc : 0;
}

int hubreg_zone_serial(struct hub_registry *r, int64_t *serial)
{
	int rc;

	*serial = 0;
	pthread_mutex_lock(&r->lock);
	rc = reg_exec(r, "SELECT serial FROM zone_serial WHERE id = 1", 0, NULL, reg_first_i64,
		      serial);
	pthread_mutex_unlock(&r->lock);
	return rc < 0 ? -1 : 0;
}

int reg_exec(struct hub_registry *r, const char *sql, int n, const char *const *p,
	     db_row_fn fn, void *arg)
{
	return r->db->ops->exec(r->db, sql, n, p, fn, arg);
}

int reg_exec_locked(struct hub_registry *r, const char *sql, int n, const char *const *p,
		    db_row_fn fn, void *arg)
{
	int rc;

	pthread_mutex_lock(&r->lock);
	rc = reg_exec(r, sql, n, p, fn, arg);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int reg_begin(struct hub_registry *r)
{
	return db_run(r->db, r->db->ops->begin_sql);
}

int reg_commit(struct hub_registry *r)
{
	return db_run(r->db, "COMMIT");
}

/* Roll back after a failure, keeping the failure's message; returns rc. */
int reg_rollback(struct hub_registry *r, int rc)
{
	struct err_saved e;

	err_save(&e);
	db_run(r->db, "ROLLBACK");
	err_restore(&e);
	return rc;
}

/* An outcome that is not a failure of the engine: its message, its code. */
int reg_outcome(int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set("%s", msg);
	return code;
}

void reg_fmt_i64(char *buf, size_t len, int64_t v)
{
	snprintf(buf, len, "%" PRId64, v);
}

int64_t reg_to_i64(const char *s)
{
	return s ? strtoll(s, NULL, 10) : 0;
}

int reg_first_text(void *arg, int ncols, const char *const *vals)
{
	struct reg_text_out *t = arg;

	if (ncols > 0 && vals[0]) {
		snprintf(t->buf, t->len, "%s", vals[0]);
		t->found = 1;
	}
	return 1;
}

/* Row callback: the first column as a number. */
int reg_first_i64(void *arg, int ncols, const char *const *vals)
{
	*(int64_t *)arg = ncols > 0 ? reg_to_i64(vals[0]) : 0;
	return 1;
}

/* ---- open, close ---- */

static int create_schema(struct hub_registry *r)
{
	if (reg_begin(r) < 0)
		return -1;
	if (r->db->ops->schema_lock && db_run(r->db, r->db->ops->schema_lock) < 0)
		return reg_rollback(r, -1);
	for (size_t i = 0; i < sizeof(schema) / sizeof(schema[0]); i++)
		if (db_run(r->db, schema[i]) < 0)
			return reg_rollback(r, -1);
	return reg_commit(r) < 0 ? reg_rollback(r, -1) : 0;
}

int hubreg_open(const char *url, const char *sqlite_path, struct hub_registry **out)
{
	struct hub_registry *r = calloc(1, sizeof(*r));

	if (!r)
		return err_set("out of memory");
	pthread_mutex_init(&r->lock, NULL);
	if (db_open(url, sqlite_path, &r->db) < 0) {
		free(r);
		return -1;
	}
	if (create_schema(r) < 0) {
		hubreg_close(r);
		return err_wrap("registry: cannot create its tables");
	}
	*out = r;
	return 0;
}

void hubreg_close(struct hub_registry *r)
{
	if (!r)
		return;
	if (r->db)
		r->db->ops->close(r->db);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

const char *hubreg_engine(const struct hub_registry *r)
{
	return r->db->ops->name;
}

/* ---- tenants and tokens ---- */

int hubreg_tenant_add(struct hub_registry *r, const char *name, const char *token_hash,
		      int64_t now_ms)
{
	char now[24];
	const char *p[] = { name, token_hash, now };
	int rc;

	reg_fmt_i64(now, sizeof(now), now_ms);
	pthread_mutex_lock(&r->lock);
	rc = reg_exec(r, "INSERT INTO tenants (name, token_hash, created_ms) VALUES ($1, $2, "
		     "CAST($3 AS BIGINT))", 3, p, NULL, NULL);
	pthread_mutex_unlock(&r->lock);
	if (rc == DB_CONFLICT)
		return reg_outcome(HUBREG_EXISTS, "tenant %s exists", name);
	return rc < 0 ? -1 : 0;
}

int hubreg_tenant_remove(struct hub_registry *r, const char *name)
{
	const char *p[] = { name };
	int64_t apps = 0;
	int rc;

	pthread_mutex_lock(&r->lock);
	if (reg_begin(r) < 0) {
		pthread_mutex_unlock(&r->lock);
		return -1;
	}
	rc = reg_exec(r, "SELECT count(*) FROM apps WHERE tenant = $1", 1, p, reg_first_i64, &apps);
	if (rc >= 0 && apps > 0)
		rc = reg_outcome(HUBREG_BUSY, "tenant %s has %" PRId64 " apps: remove them first",
			     name, apps);
	else if (rc >= 0 && reg_exec(r, "DELETE FROM tenant_limits WHERE tenant = $1", 1, p, NULL,
				 NULL) < 0)
		rc = -1;
	else if (rc >= 0)
		rc = reg_exec(r, "DELETE FROM tenants WHERE name = $1", 1, p, NULL, NULL) == 0
			     ? reg_outcome(HUBREG_NOTFOUND, "no tenant %s", name)
			     : 0;
	if (rc == 0 && reg_commit(r) < 0)
		rc = -1;
	if (rc != 0)
		reg_rollback(r, rc);
	pthread_mutex_unlock(&r->lock);
	return rc < 0 ? -1 : rc;
}

static int tenant_row(void *arg, int ncols, const char *const *v)
{
	(void)ncols;
	return json_array_append_new(arg, json_pack("{s:s, s:I, s:I, s:I, s:I}", "name", v[0],
						     "apps", (json_int_t)reg_to_i64(v[1]), "created",
						     (json_int_t)reg_to_i64(v[2]), "max_apps",
						     (json_int_t)reg_to_i64(v[3]), "max_memory",
						     (json_int_t)reg_to_i64(v[4])));
}

int hubreg_tenant_limit(struct hub_registry *r, const char *name, int64_t max_apps,
			int64_t max_memory)
{
	char apps[24], mem[24];
	const char *p[] = { name, apps, mem };
	int rc;

	reg_fmt_i64(apps, sizeof(apps), max_apps);
	reg_fmt_i64(mem, sizeof(mem), max_memory);
	pthread_mutex_lock(&r->lock);
	rc = reg_exec(r, "INSERT INTO tenant_limits (tenant, max_apps, max_memory) VALUES ($1, "
		     "CAST($2 AS BIGINT), CAST($3 AS BIGINT)) ON CONFLICT (tenant) DO UPDATE SET "
		     "max_apps = excluded.max_apps, max_memory = excluded.max_memory",
		  3, p, NULL, NULL);
	pthread_mutex_unlock(&r->lock);
	if (rc == DB_CONFLICT)
		return reg_outcome(HUBREG_NOTFOUND, "no tenant %s", name);
	return rc < 0 ? -1 : 0;
}

int hubreg_tenant_list(struct hub_registry *r, json_t **out)
{
	json_t *list = json_array();
	int rc;

	if (!list)
		return err_set("out of memory");
	pthread_mutex_lock(&r->lock);
	rc = reg_exec(r, "SELECT t.name, (SELECT count(*) FROM apps a WHERE a.tenant = t.name), "
		     "t.created_ms, l.max_apps, l.max_memory FROM tenants t "
		     "LEFT JOIN tenant_limits l ON l.tenant = t.name ORDER BY t.name",
		  0, NULL, tenant_row, list);
	pthread_mutex_unlock(&r->lock);
	if (rc < 0) {
		json_decref(list);
		return -1;
	}
	*out = list;
	return 0;
}

int hubreg_tenant_by_token(struct hub_registry *r, const char *hash, char *name)
{
	struct reg_text_out t = { name, HUB_NAME_MAX + 1, 0 };
	const char *p[] = { hash };
	int rc;

	pthread_mutex_lock(&r->lock);
	rc = reg_exec(r, "SELECT name FROM tenants WHERE token_hash = $1", 1, p, reg_first_text, &t);
	pthread_mutex_unlock(&r->lock);
	if (rc < 0)
		return -1;
	return t.found ? 0 : HUBREG_NOTFOUND;
}

int hubreg_worker_token_add(struct hub_registry *r, const char *hash, int64_t now_ms)
{
	char now[24];
	const char *p[] = { hash, now };
	int rc;

	reg_fmt_i64(now, sizeof(now), now_ms);
	pthread_mutex_lock(&r->lock);
	rc = reg_exec(r, "INSERT INTO worker_tokens (token_hash, created_ms) VALUES ($1, "
		     "CAST($2 AS BIGINT))", 2, p, NULL, NULL);
	pthread_mutex_unlock(&r->lock);
	return rc < 0 ? -1 : 0;
}

int hubreg_worker_token_check(struct hub_registry *r, const char *hash)
{
	const char *p[] = { hash };
	int rc;

	pthread_mutex_lock(&r->lock);
	rc = reg_exec(r, "SELECT 1 FROM worker_tokens WHERE token_hash = $1", 1, p, NULL, NULL);
	pthread_mutex_unlock(&r->lock);
	if (rc < 0)
		return -1;
	return rc > 0 ? 0 : HUBREG_NOTFOUND;
}

/* ---- workers ---- */

/* The apps whose images the worker has cached: what it says now. */
static int put_cache(struct hub_registry *r, const struct worker_report *w)
{
	const char *p[] = { w->name, NULL };
	int rc = reg_exec(r, "DELETE FROM worker_cache WHERE worker = $1", 1, p, NULL, NULL);

	for (size_t i = 0; rc >= 0 && i < w->ncached; i++) {
		p[1] = w->cached[i];
		rc = reg_exec(r, "INSERT INTO worker_cache (worker, app) VALUES ($1, $2) "
			     "ON CONFLICT DO NOTHING", 2, p, NULL, NULL);
	}
	return rc;
}

int hubreg_worker_beat(struct hub_registry *r, const struct worker_report *w, int64_t now_ms)
{
	char now[24], total[24], free_[24];
	const char *p[] = { w->name, w->address, total, free_, now };
	int rc;

	reg_fmt_i64(now, sizeof(now), now_ms);
	reg_fmt_i64(total, sizeof(total), w->mem_total);
	reg_fmt_i64(free_, sizeof(free_), w->mem_free);
	pthread_mutex_lock(&r->lock);
	if (reg_begin(r) < 0) {
		pthread_mutex_unlock(&r->lock);
		return -1;
	}
	rc = reg_exec(r,
		  "INSERT INTO workers (name, address, mem_total, mem_free, heartbeat_ms, state) "
		  "VALUES ($1, $2, CAST($3 AS BIGINT), CAST($4 AS BIGINT), CAST($5 AS BIGINT), "
		  "'up') ON CONFLICT (name) DO UPDATE SET address = excluded.address, "
		  "mem_total = excluded.mem_total, mem_free = excluded.mem_free, "
		  "heartbeat_ms = excluded.heartbeat_ms, state = 'up'",
		  5, p, NULL, NULL);
	if (rc >= 0) {
		char low[24];
		const char *q[] = { w->name, low };

		reg_fmt_i64(low, sizeof(low), w->mem_low);
		rc = reg_exec(r, "INSERT INTO worker_memory_low (worker, bytes) VALUES ($1, "
			     "CAST($2 AS BIGINT)) ON CONFLICT (worker) DO UPDATE SET "
			     "bytes = excluded.bytes", 2, q, NULL, NULL);
	}
	if (rc >= 0 && w->has_cached)
		rc = put_cache(r, w);
	if (rc >= 0)
		rc = reg_commit(r);
	if (rc < 0)
		reg_rollback(r, rc);
	pthread_mutex_unlock(&r->lock);
	if (rc == DB_CONFLICT)
		return reg_outcome(HUBREG_EXISTS, "address %s is another worker's", w->address);
	return rc < 0 ? -1 : 0;
}

static int worker_row(void *arg, int ncols, const char *const *v)
{
	(void)ncols;
	return json_array_append_new(
		arg, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "name", v[0], "address",
			       v[1], "state", v[2], "mem_total_bytes", (json_int_t)reg_to_i64(v[3]),
			       "mem_free_bytes", (json_int_t)reg_to_i64(v[4]), "apps",
			       (json_int_t)reg_to_i64(v[5]), "last_heartbeat",
			       (json_int_t)reg_to_i64(v[6]), "mem_low_bytes",
			       (json_int_t)reg_to_i64(v[7])));
}

int hubreg_worker_list(struct hub_registry *r, json_t **out)
{
	json_t *list = json_array();
	int rc;

	if (!list)
		return err_set("out of memory");
	pthread_mutex_lock(&r->lock);
	rc = reg_exec(r, "SELECT w.name, w.address, w.state, w.mem_total, w.mem_free, "
		     "(SELECT count(*) FROM apps a WHERE a.worker = w.name), w.heartbeat_ms, "
		     "l.bytes FROM workers w LEFT JOIN worker_memory_low l ON l.worker = w.name "
		     "ORDER BY w.name", 0, NULL, worker_row, list);
	pthread_mutex_unlock(&r->lock);
	if (rc < 0) {
		json_decref(list);
		return -1;
	}
	*out = list;
	return 0;
}

struct expired {
	void (*fn)(const char *name, void *arg);
	void *arg;
};

static int expired_row(void *arg, int ncols, const char *const *v)
{
	struct expired *e = arg;

	if (ncols > 0 && v[0])
		e->fn(v[0], e->arg);
	return 0;
}

int hubreg_workers_expire(struct hub_registry *r, int64_t cutoff_ms,
			  void (*fn)(const char *name, void *arg), void *arg)
{
	struct expired e = { fn, arg };
	char cutoff[24];
	const char *p[] = { cutoff };
	int rc;

	reg_fmt_i64(cutoff, sizeof(cutoff), cutoff_ms);
	pthread_mutex_lock(&r->lock);
	rc = reg_exec(r, "UPDATE workers SET state = 'down' WHERE state = 'up' AND "
		     "heartbeat_ms < CAST($1 AS BIGINT) RETURNING name", 1, p, expired_row, &e);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

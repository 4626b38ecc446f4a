/* registry.c - the hub's registry: schema and queries (see registry.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "hub/db.h"
#include "hub/placement.h"
#include "hub/registry.h"

#define PLACE_TRIES 3          /* a port taken by another hub meanwhile: again */
#define PLACE_WORKERS_MAX 1024

struct hub_registry {
	struct db *db;
	pthread_mutex_t lock;
};

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
	"CREATE TABLE IF NOT EXISTS app_ports (worker TEXT NOT NULL, port INTEGER NOT NULL, "
	"app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE, PRIMARY KEY (worker, port))",
};

/* ---- small helpers ---- */

static int exec(struct hub_registry *r, const char *sql, int n, const char *const *p,
		db_row_fn fn, void *arg)
{
	return r->db->ops->exec(r->db, sql, n, p, fn, arg);
}

static int begin(struct hub_registry *r)
{
	return db_run(r->db, r->db->ops->begin_sql);
}

static int commit(struct hub_registry *r)
{
	return db_run(r->db, "COMMIT");
}

/* Roll back after a failure, keeping the failure's message; returns rc. */
static int rollback(struct hub_registry *r, int rc)
{
	struct err_saved e;

	err_save(&e);
	db_run(r->db, "ROLLBACK");
	err_restore(&e);
	return rc;
}

/* An outcome that is not a failure of the engine: its message, its code. */
static int outcome(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int outcome(int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set("%s", msg);
	return code;
}

static void fmt_i64(char *buf, size_t len, int64_t v)
{
	snprintf(buf, len, "%" PRId64, v);
}

static int64_t to_i64(const char *s)
{
	return s ? strtoll(s, NULL, 10) : 0;
}

/* Row callback: the first column into a char buffer of HUB_ADDR_MAX+. */
struct text_out {
	char *buf;
	size_t len;
	int found;
};

static int first_text(void *arg, int ncols, const char *const *vals)
{
	struct text_out *t = arg;

	if (ncols > 0 && vals[0]) {
		snprintf(t->buf, t->len, "%s", vals[0]);
		t->found = 1;
	}
	return 1;
}

/* Row callback: the first column as a number. */
static int first_i64(void *arg, int ncols, const char *const *vals)
{
	*(int64_t *)arg = ncols > 0 ? to_i64(vals[0]) : 0;
	return 1;
}

/* ---- open, close ---- */

static int create_schema(struct hub_registry *r)
{
	if (begin(r) < 0)
		return -1;
	if (r->db->ops->schema_lock && db_run(r->db, r->db->ops->schema_lock) < 0)
		return rollback(r, -1);
	for (size_t i = 0; i < sizeof(schema) / sizeof(schema[0]); i++)
		if (db_run(r->db, schema[i]) < 0)
			return rollback(r, -1);
	return commit(r) < 0 ? rollback(r, -1) : 0;
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

	fmt_i64(now, sizeof(now), now_ms);
	pthread_mutex_lock(&r->lock);
	rc = exec(r, "INSERT INTO tenants (name, token_hash, created_ms) VALUES ($1, $2, "
		     "CAST($3 AS BIGINT))", 3, p, NULL, NULL);
	pthread_mutex_unlock(&r->lock);
	if (rc == DB_CONFLICT)
		return outcome(HUBREG_EXISTS, "tenant %s exists", name);
	return rc < 0 ? -1 : 0;
}

int hubreg_tenant_remove(struct hub_registry *r, const char *name)
{
	const char *p[] = { name };
	int64_t apps = 0;
	int rc;

	pthread_mutex_lock(&r->lock);
	if (begin(r) < 0) {
		pthread_mutex_unlock(&r->lock);
		return -1;
	}
	rc = exec(r, "SELECT count(*) FROM apps WHERE tenant = $1", 1, p, first_i64, &apps);
	if (rc >= 0 && apps > 0)
		rc = outcome(HUBREG_BUSY, "tenant %s has %" PRId64 " apps: remove them first",
			     name, apps);
	else if (rc >= 0)
		rc = exec(r, "DELETE FROM tenants WHERE name = $1", 1, p, NULL, NULL) == 0
			     ? outcome(HUBREG_NOTFOUND, "no tenant %s", name)
			     : 0;
	if (rc == 0 && commit(r) < 0)
		rc = -1;
	if (rc != 0)
		rollback(r, rc);
	pthread_mutex_unlock(&r->lock);
	return rc < 0 ? -1 : rc;
}

static int tenant_row(void *arg, int ncols, const char *const *v)
{
	(void)ncols;
	return json_array_append_new(arg, json_pack("{s:s, s:I, s:I}", "name", v[0], "apps",
						     (json_int_t)to_i64(v[1]), "created",
						     (json_int_t)to_i64(v[2])));
}

int hubreg_tenant_list(struct hub_registry *r, json_t **out)
{
	json_t *list = json_array();
	int rc;

	if (!list)
		return err_set("out of memory");
	pthread_mutex_lock(&r->lock);
	rc = exec(r, "SELECT t.name, (SELECT count(*) FROM apps a WHERE a.tenant = t.name), "
		     "t.created_ms FROM tenants t ORDER BY t.name", 0, NULL, tenant_row, list);
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
	struct text_out t = { name, HUB_NAME_MAX + 1, 0 };
	const char *p[] = { hash };
	int rc;

	pthread_mutex_lock(&r->lock);
	rc = exec(r, "SELECT name FROM tenants WHERE token_hash = $1", 1, p, first_text, &t);
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

	fmt_i64(now, sizeof(now), now_ms);
	pthread_mutex_lock(&r->lock);
	rc = exec(r, "INSERT INTO worker_tokens (token_hash, created_ms) VALUES ($1, "
		     "CAST($2 AS BIGINT))", 2, p, NULL, NULL);
	pthread_mutex_unlock(&r->lock);
	return rc < 0 ? -1 : 0;
}

int hubreg_worker_token_check(struct hub_registry *r, const char *hash)
{
	const char *p[] = { hash };
	int rc;

	pthread_mutex_lock(&r->lock);
	rc = exec(r, "SELECT 1 FROM worker_tokens WHERE token_hash = $1", 1, p, NULL, NULL);
	pthread_mutex_unlock(&r->lock);
	if (rc < 0)
		return -1;
	return rc > 0 ? 0 : HUBREG_NOTFOUND;
}

/* ---- workers ---- */

int hubreg_worker_beat(struct hub_registry *r, const struct worker_report *w, int64_t now_ms)
{
	char now[24], total[24], free_[24];
	const char *p[] = { w->name, w->address, total, free_, now };
	int rc;

	fmt_i64(now, sizeof(now), now_ms);
	fmt_i64(total, sizeof(total), w->mem_total);
	fmt_i64(free_, sizeof(free_), w->mem_free);
	pthread_mutex_lock(&r->lock);
	rc = exec(r,
		  "INSERT INTO workers (name, address, mem_total, mem_free, heartbeat_ms, state) "
		  "VALUES ($1, $2, CAST($3 AS BIGINT), CAST($4 AS BIGINT), CAST($5 AS BIGINT), "
		  "'up') ON CONFLICT (name) DO UPDATE SET address = excluded.address, "
		  "mem_total = excluded.mem_total, mem_free = excluded.mem_free, "
		  "heartbeat_ms = excluded.heartbeat_ms, state = 'up'",
		  5, p, NULL, NULL);
	pthread_mutex_unlock(&r->lock);
	if (rc == DB_CONFLICT)
		return outcome(HUBREG_EXISTS, "address %s is another worker's", w->address);
	return rc < 0 ? -1 : 0;
}

static int worker_row(void *arg, int ncols, const char *const *v)
{
	(void)ncols;
	return json_array_append_new(
		arg, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "name", v[0], "address",
			       v[1], "state", v[2], "mem_total_bytes", (json_int_t)to_i64(v[3]),
			       "mem_free_bytes", (json_int_t)to_i64(v[4]), "apps",
			       (json_int_t)to_i64(v[5]), "last_heartbeat",
			       (json_int_t)to_i64(v[6])));
}

int hubreg_worker_list(struct hub_registry *r, json_t **out)
{
	json_t *list = json_array();
	int rc;

	if (!list)
		return err_set("out of memory");
	pthread_mutex_lock(&r->lock);
	rc = exec(r, "SELECT w.name, w.address, w.state, w.mem_total, w.mem_free, "
		     "(SELECT count(*) FROM apps a WHERE a.worker = w.name), w.heartbeat_ms "
		     "FROM workers w ORDER BY w.name", 0, NULL, worker_row, list);
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

	fmt_i64(cutoff, sizeof(cutoff), cutoff_ms);
	pthread_mutex_lock(&r->lock);
	rc = exec(r, "UPDATE workers SET state = 'down' WHERE state = 'up' AND "
		     "heartbeat_ms < CAST($1 AS BIGINT) RETURNING name", 1, p, expired_row, &e);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* ---- apps ---- */

#define APP_COLUMNS "a.name, a.tenant, a.worker, w.address, a.state, a.spec, a.image, " \
		    "a.created_ms, w.state"
#define APP_FROM "FROM apps a LEFT JOIN workers w ON w.name = a.worker"

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
	json_object_set_new(o, "state", json_string(v[4]));
	json_object_set_new(o, "image", json_string(v[6]));
	json_object_set_new(o, "created", json_integer(to_i64(v[7])));
	json_object_set_new(o, "worker_state", v[8] ? json_string(v[8]) : json_null());
	return o;
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
	rc = exec(r, sql, n, p, app_row, list);
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

	return app_query(r, "a.worker = $1", 1, p, out);
}

int hubreg_app_get(struct hub_registry *r, const char *tenant, const char *name, json_t **out)
{
	const char *p[] = { tenant, name };
	json_t *list;

	if (app_query(r, "a.tenant = $1 AND a.name = $2", 2, p, &list) < 0)
		return -1;
	if (json_array_size(list) == 0) {
		json_decref(list);
		return outcome(HUBREG_NOTFOUND, "no such app");
	}
	*out = json_incref(json_array_get(list, 0));
	json_decref(list);
	return 0;
}

int hubreg_app_remove(struct hub_registry *r, const char *tenant, const char *name)
{
	const char *p[] = { name, tenant };
	int rc;

	pthread_mutex_lock(&r->lock);
	if (begin(r) < 0) {
		pthread_mutex_unlock(&r->lock);
		return -1;
	}
	rc = exec(r, "DELETE FROM app_ports WHERE app IN (SELECT name FROM apps WHERE "
		     "name = $1 AND tenant = $2)", 2, p, NULL, NULL);
	if (rc >= 0)
		rc = exec(r, "DELETE FROM apps WHERE name = $1 AND tenant = $2", 2, p, NULL, NULL);
	if (rc == 0)
		rc = outcome(HUBREG_NOTFOUND, "no such app");
	else if (rc > 0)
		rc = commit(r) < 0 ? -1 : 0;
	if (rc != 0)
		rollback(r, rc);
	pthread_mutex_unlock(&r->lock);
	return rc < 0 ? -1 : rc;
}

int hubreg_app_address(struct hub_registry *r, const char *name, char *addr, size_t len)
{
	struct text_out t = { addr, len, 0 };
	const char *p[] = { name };
	int rc;

	pthread_mutex_lock(&r->lock);
	rc = exec(r, "SELECT w.address FROM apps a JOIN workers w ON w.name = a.worker "
		     "WHERE a.name = $1", 1, p, first_text, &t);
	pthread_mutex_unlock(&r->lock);
	if (rc < 0)
		return -1;
	return t.found ? 0 : HUBREG_NOTFOUND;
}

/* ---- placement ---- */

struct candidates {
	struct place_candidate c[PLACE_WORKERS_MAX];
	size_t n;
};

static int candidate_row(void *arg, int ncols, const char *const *v)
{
	struct candidates *cs = arg;
	struct place_candidate *c;

	if (ncols < 5 || cs->n == PLACE_WORKERS_MAX)
		return 1;
	c = &cs->c[cs->n++];
	snprintf(c->name, sizeof(c->name), "%s", v[0]);
	c->mem_free = to_i64(v[1]);
	c->apps = (long)to_i64(v[2]);
	c->tenant_apps = (long)to_i64(v[3]);
	c->ports_taken = (long)to_i64(v[4]);
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

static int gather_candidates(struct hub_registry *r, const char *tenant,
			     const struct app_spec *spec, struct candidates *cs)
{
	char ports[APP_MAX_PORTS * 7 + 2], sql[1024];
	const char *p[] = { tenant };

	port_list(spec, ports, sizeof(ports));
	snprintf(sql, sizeof(sql),
		 "SELECT w.name, w.mem_free, "
		 "(SELECT count(*) FROM apps a WHERE a.worker = w.name), "
		 "(SELECT count(*) FROM apps a WHERE a.worker = w.name AND a.tenant = $1), "
		 "(SELECT count(*) FROM app_ports q WHERE q.worker = w.name AND q.port IN (%s)) "
		 "FROM workers w WHERE w.state = 'up' ORDER BY w.name",
		 ports);
	cs->n = 0;
	return exec(r, sql, 1, p, candidate_row, cs) < 0 ? -1 : 0;
}

static int insert_app(struct hub_registry *r, const char *tenant, const struct app_spec *spec,
		      const char *worker, int64_t now_ms)
{
	json_t *sj = spec_to_json(spec);
	char *doc = sj ? json_dumps(sj, JSON_COMPACT) : NULL;
	char now[24], port[8];
	const char *p[] = { spec->name, tenant, worker, doc, now };
	uint16_t host[APP_MAX_PORTS], app[APP_MAX_PORTS];
	size_t np;
	int rc;

	json_decref(sj);
	if (!doc)
		return err_set("out of memory");
	fmt_i64(now, sizeof(now), now_ms);
	rc = exec(r, "INSERT INTO apps (name, tenant, worker, state, spec, image, created_ms) "
		     "VALUES ($1, $2, $3, 'placed', $4, $1, CAST($5 AS BIGINT))", 5, p, NULL, NULL);
	free(doc);
	if (rc == DB_CONFLICT)
		return outcome(HUBREG_EXISTS, "app name %s is taken", spec->name);
	np = spec_port_pairs(spec, host, app);
	for (size_t i = 0; rc >= 0 && i < np; i++) {
		const char *q[] = { worker, port, spec->name };

		snprintf(port, sizeof(port), "%u", host[i]);
		rc = exec(r, "INSERT INTO app_ports (worker, port, app) VALUES ($1, "
			     "CAST($2 AS INTEGER), $3)", 3, q, NULL, NULL);
	}
	return rc < 0 ? rc : 0;
}

/* One try in one transaction; DB_CONFLICT when a port went meanwhile. */
static int place_once(struct hub_registry *r, const char *tenant, const struct app_spec *spec,
		      int64_t now_ms, struct candidates *cs)
{
	const char *p[] = { spec->name };
	int rc, best;

	if (begin(r) < 0)
		return -1;
	rc = exec(r, "SELECT 1 FROM apps WHERE name = $1", 1, p, NULL, NULL);
	if (rc > 0)
		return rollback(r, outcome(HUBREG_EXISTS, "app name %s is taken", spec->name));
	if (rc < 0 || gather_candidates(r, tenant, spec, cs) < 0)
		return rollback(r, -1);
	best = placement_choose(cs->c, cs->n, placement_need(spec->memory));
	if (best < 0)
		return rollback(r, outcome(HUBREG_NOPLACE,
					   "no worker can take the app (%zu up; it needs its "
					   "ports free and %lld MiB of memory to spare)",
					   cs->n, (long long)(placement_need(spec->memory) >> 20)));
	rc = insert_app(r, tenant, spec, cs->c[best].name, now_ms);
	if (rc != 0)
		return rollback(r, rc);
	return commit(r) < 0 ? rollback(r, -1) : 0;
}

int hubreg_app_create(struct hub_registry *r, const char *tenant, const struct app_spec *spec,
		      int64_t now_ms, json_t **out)
{
	struct candidates *cs = malloc(sizeof(*cs));
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

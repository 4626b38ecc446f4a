/* registry.c - apps in SQLite (see registry.h). */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "worker/registry.h"

struct registry {
	sqlite3 *db;
};

static int db_err(struct registry *r, const char *what)
{
	return err_set("registry: %s: %s", what, sqlite3_errmsg(r->db));
}

static int exec_sql(struct registry *r, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(r->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set("registry: %s: %s", sql, msg ? msg : "failed");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int registry_open(const char *path, struct registry **out)
{
	struct registry *r = calloc(1, sizeof(*r));

	if (!r)
		return err_set("out of memory");
	if (sqlite3_open_v2(path, &r->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		err_set("registry: open %s: %s", path, r->db ? sqlite3_errmsg(r->db) : "failed");
		registry_close(r);
		return -1;
	}
	sqlite3_busy_timeout(r->db, 5000);
	if (exec_sql(r, "PRAGMA journal_mode=WAL") < 0 ||
	    exec_sql(r, "PRAGMA synchronous=NORMAL") < 0 ||
	    exec_sql(r, "CREATE TABLE IF NOT EXISTS apps (name TEXT PRIMARY KEY, doc TEXT NOT NULL)") < 0) {
		registry_close(r);
		return -1;
	}
	*out = r;
	return 0;
}

void registry_close(struct registry *r)
{
	if (!r)
		return;
	sqlite3_close(r->db);
	free(r);
}

/* Run one statement with text parameters. */
static int run_stmt(struct registry *r, const char *sql, const char *a, const char *b)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_err(r, "prepare");
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_err(r, "write");
}

int registry_put(struct registry *r, const char *name, const json_t *row)
{
	char *doc = row ? json_dumps(row, JSON_COMPACT) : NULL;
	int rc;

	if (!doc)
		return err_set("registry: cannot encode app %s", name);
	rc = run_stmt(r, "INSERT OR REPLACE INTO apps (name, doc) VALUES (?1, ?2)", name, doc);
	free(doc);
	return rc;
}

int registry_delete(struct registry *r, const char *name)
{
	return run_stmt(r, "DELETE FROM apps WHERE name = ?1", name, NULL);
}

int registry_each(struct registry *r, int (*fn)(const json_t *row, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc = 0, step;

	if (sqlite3_prepare_v2(r->db, "SELECT name, doc FROM apps ORDER BY name", -1, &st,
			       NULL) != SQLITE_OK)
		return db_err(r, "prepare");
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *doc = (const char *)sqlite3_column_text(st, 1);
		json_error_t jerr;
		json_t *row = doc ? json_loads(doc, 0, &jerr) : NULL;

		if (!row) {
			rc = err_set("registry: row %s is not JSON", sqlite3_column_text(st, 0));
			break;
		}
		rc = fn(row, arg);
		json_decref(row);
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_err(r, "read");
	sqlite3_finalize(st);
	return rc;
}

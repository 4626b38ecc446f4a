/* db_sqlite.c - the registry's SQL engine as an SQLite file (see db.h). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/err.h"
#include "hub/db.h"

struct db_sqlite {
	struct db base;
	sqlite3 *h;
};

static int bind_params(sqlite3_stmt *st, int n, const char *const *params)
{
	char key[16];

	for (int i = 0; i < n; i++) {
		int idx;

		snprintf(key, sizeof(key), "$%d", i + 1);
		idx = sqlite3_bind_parameter_index(st, key);
		if (idx > 0 && sqlite3_bind_text(st, idx, params[i], -1, SQLITE_STATIC) != SQLITE_OK)
			return -1;
	}
	return 0;
}

static int step_rows(sqlite3_stmt *st, db_row_fn fn, void *arg, int *rows)
{
	const char *vals[32];
	int step, ncols = sqlite3_column_count(st);

	if (ncols > 32)
		ncols = 32;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		(*rows)++;
		for (int i = 0; i < ncols; i++)
			vals[i] = (const char *)sqlite3_column_text(st, i);
		if (fn && fn(arg, ncols, vals))
			return SQLITE_DONE;
	}
	return step;
}

static int sqlite_exec(struct db *db, const char *sql, int n, const char *const *params,
		       db_row_fn fn, void *arg)
{
	sqlite3 *h = ((struct db_sqlite *)db)->h;
	sqlite3_stmt *st;
	int rows = 0, step, ncols;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		return err_set("registry (sqlite): %s: %s", sql, sqlite3_errmsg(h));
	if (bind_params(st, n, params) < 0) {
		err_set("registry (sqlite): bind: %s", sqlite3_errmsg(h));
		sqlite3_finalize(st);
		return -1;
	}
	step = step_rows(st, fn, arg, &rows);
	if (step != SQLITE_DONE) {
		int conflict = (step & 0xff) == SQLITE_CONSTRAINT;

		err_set("registry (sqlite): %s", sqlite3_errmsg(h));
		sqlite3_finalize(st);
		return conflict ? DB_CONFLICT : -1;
	}
	ncols = sqlite3_column_count(st);
	sqlite3_finalize(st);
	return ncols ? rows : sqlite3_changes(h);
}

static void sqlite_close(struct db *db)
{
	struct db_sqlite *s = (struct db_sqlite *)db;

	sqlite3_close(s->h);
	free(s);
}

static const struct db_ops sqlite_ops = {
	.exec = sqlite_exec,
	.close = sqlite_close,
	.begin_sql = "BEGIN IMMEDIATE",
	.schema_lock = NULL,
	.for_update = "",
	.name = "sqlite",
};

int db_sqlite_open(const char *path, struct db **out)
{
	struct db_sqlite *s = calloc(1, sizeof(*s));

	if (!s)
		return err_set("out of memory");
	s->base.ops = &sqlite_ops;
	if (sqlite3_open_v2(path, &s->h,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		err_set("registry: open %s: %s", path, s->h ? sqlite3_errmsg(s->h) : "failed");
		sqlite_close(&s->base);
		return -1;
	}
	sqlite3_busy_timeout(s->h, 5000);
	if (db_run(&s->base, "PRAGMA journal_mode=WAL") < 0 ||
	    db_run(&s->base, "PRAGMA foreign_keys=ON") < 0) {
		sqlite_close(&s->base);
		return -1;
	}
	*out = &s->base;
	return 0;
}

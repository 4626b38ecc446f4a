/*
 * db.h - the SQL engine under the hub's registry, one small interface for
 * two engines: SQLite (a file in the hub's state directory) and
 * PostgreSQL (libpq, a "postgresql://..." URL).  The registry's queries
 * (registry.c) are written once in the SQL both understand, parameters
 * as $1..$N, every value passed and returned as text.
 */
#ifndef PC_HUB_DB_H
#define PC_HUB_DB_H

#define DB_CONFLICT (-2)   /* a unique or primary key constraint said no */

/* Called for each row: vals[i] is NULL for SQL NULL.  Non-zero stops. */
typedef int (*db_row_fn)(void *arg, int ncols, const char *const *vals);

struct db;

struct db_ops {
	/* Run sql with n text parameters; rows go to fn (may be NULL).
	 * Returns the rows changed (or returned), -1 or DB_CONFLICT. */
	int (*exec)(struct db *db, const char *sql, int n, const char *const *params,
		    db_row_fn fn, void *arg);
	void (*close)(struct db *db);
	const char *begin_sql;   /* opens a transaction that writes */
	const char *schema_lock; /* taken before creating tables, or NULL */
	const char *for_update;  /* what locks the rows a SELECT reads ("" when the
				  * transaction already excludes other writers) */
	const char *name;        /* "sqlite" or "postgresql" */
};

struct db {
	const struct db_ops *ops;
};

/* Open the engine: url NULL means SQLite at sqlite_path. */
int db_open(const char *url, const char *sqlite_path, struct db **out);
int db_sqlite_open(const char *path, struct db **out);
int db_pg_open(const char *url, struct db **out);

/* Convenience: exec without parameters or rows. */
int db_run(struct db *db, const char *sql);

#endif

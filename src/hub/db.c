/* db.c - choose the registry's SQL engine from the --db URL (see db.h). */
#include <string.h>

#include "common/err.h"
#include "hub/db.h"

int db_open(const char *url, const char *sqlite_path, struct db **out)
{
	if (!url)
		return db_sqlite_open(sqlite_path, out);
	if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11))
		return db_pg_open(url, out);
	return err_set("--db %s: want postgresql://... (without --db the registry is SQLite "
		       "in the state directory)", url);
}

int db_run(struct db *db, const char *sql)
{
	int rc = db->ops->exec(db, sql, 0, NULL, NULL, NULL);

	return rc < 0 ? rc : 0;
}

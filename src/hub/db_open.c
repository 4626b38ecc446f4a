/* db_open.c - choose the registry's SQL engine from the --db URL (see
 * db.h): SQLite in the state directory without one, else PostgreSQL. */
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

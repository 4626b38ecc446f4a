/* db.c - what the registry's SQL engines share (see db.h): running a
 * statement that returns no rows.  Choosing the engine is db_open.c's. */
#include <stddef.h>

#include "hub/db.h"

int db_run(struct db *db, const char *sql)
{
	int rc = db->ops->exec(db, sql, 0, NULL, NULL, NULL);

	return rc < 0 ? rc : 0;
}

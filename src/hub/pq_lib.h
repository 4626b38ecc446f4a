/*
 * pq_lib.h - libpq, loaded when a hub opens a PostgreSQL registry.
 * Like libmicrohttpd (api/mhd_lib.h), libpq brings two dozen shared
 * libraries (Kerberos, LDAP, ...) that every other `picocenter` start
 * would pay for; only `picocenter hub` with --db needs it.
 */
#ifndef PC_HUB_PQ_LIB_H
#define PC_HUB_PQ_LIB_H

#include <libpq-fe.h>

struct pq_lib {
	PGconn *(*connectdb_params)(const char *const *keywords, const char *const *values,
				    int expand_dbname);
	ConnStatusType (*status)(const PGconn *conn);
	char *(*error_message)(const PGconn *conn);
	void (*finish)(PGconn *conn);
	void (*reset)(PGconn *conn);
	PGresult *(*exec_params)(PGconn *conn, const char *command, int nparams,
				 const Oid *types, const char *const *values, const int *lengths,
				 const int *formats, int result_format);
	ExecStatusType (*result_status)(const PGresult *res);
	char *(*result_error_field)(const PGresult *res, int fieldcode);
	char *(*result_error_message)(const PGresult *res);
	int (*ntuples)(const PGresult *res);
	int (*nfields)(const PGresult *res);
	char *(*getvalue)(const PGresult *res, int row, int col);
	int (*getisnull)(const PGresult *res, int row, int col);
	char *(*cmd_tuples)(PGresult *res);
	void (*clear)(PGresult *res);
};

/* The loaded library, or NULL (with err_set) if it cannot be loaded. */
const struct pq_lib *pq_lib(void);

#endif

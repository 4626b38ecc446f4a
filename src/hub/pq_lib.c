/* pq_lib.c - load libpq on first use (see pq_lib.h). */
#include <pthread.h>
#include <stddef.h>

#include "common/dlib.h"
#include "common/err.h"
#include "hub/pq_lib.h"

static struct pq_lib lib;
static int lib_state;          /* 0 not tried, 1 loaded, -1 failed */
static char lib_error[256];
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static const struct dlib_sym syms[] = {
	{ "PQconnectdbParams", offsetof(struct pq_lib, connectdb_params) },
	{ "PQstatus", offsetof(struct pq_lib, status) },
	{ "PQerrorMessage", offsetof(struct pq_lib, error_message) },
	{ "PQfinish", offsetof(struct pq_lib, finish) },
	{ "PQreset", offsetof(struct pq_lib, reset) },
	{ "PQexecParams", offsetof(struct pq_lib, exec_params) },
	{ "PQresultStatus", offsetof(struct pq_lib, result_status) },
	{ "PQresultErrorField", offsetof(struct pq_lib, result_error_field) },
	{ "PQresultErrorMessage", offsetof(struct pq_lib, result_error_message) },
	{ "PQntuples", offsetof(struct pq_lib, ntuples) },
	{ "PQnfields", offsetof(struct pq_lib, nfields) },
	{ "PQgetvalue", offsetof(struct pq_lib, getvalue) },
	{ "PQgetisnull", offsetof(struct pq_lib, getisnull) },
	{ "PQcmdTuples", offsetof(struct pq_lib, cmd_tuples) },
	{ "PQclear", offsetof(struct pq_lib, clear) },
};

static void load_pq(void)
{
	lib_state = dlib_load("libpq.so.5", "registry", syms, sizeof(syms) / sizeof(syms[0]), &lib,
			      lib_error, sizeof(lib_error)) < 0 ? -1 : 1;
}

const struct pq_lib *pq_lib(void)
{
	pthread_once(&lib_once, load_pq);
	if (lib_state < 0) {
		err_set("%s", lib_error);
		return NULL;
	}
	return &lib;
}

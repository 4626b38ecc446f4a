/*
 * db_pg.c - the registry's SQL engine as a PostgreSQL database over libpq
 * (see db.h).  A lost connection is reset once before a statement is
 * given up on, so a hub survives a database restart; what fails meanwhile
 * fails with the server's message.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "hub/db.h"
#include "hub/pq_lib.h"

#define PG_CONNECT_TIMEOUT_S "5"

struct db_pg {
	struct db base;
	const struct pq_lib *pq;
	PGconn *conn;
	int in_tx;             /* a transaction is open */
};

/* libpq's messages span lines; ours are one line. */
static int pg_error(const char *what, const char *msg)
{
	char line[512];
	size_t n = 0;

	for (const char *s = msg; *s && n + 1 < sizeof(line); s++)
		if (*s != '\n' && *s != '\t')
			line[n++] = *s;
		else if (n && line[n - 1] != ' ')
			line[n++] = ' ';
	while (n && line[n - 1] == ' ')
		n--;
	line[n] = '\0';
	return err_set("registry (postgresql): %s: %s", what, line);
}

static int pg_rows(struct db_pg *p, PGresult *res, db_row_fn fn, void *arg)
{
	const char *vals[32];
	int rows = p->pq->ntuples(res), ncols = p->pq->nfields(res);

	if (ncols > 32)
		ncols = 32;
	for (int r = 0; fn && r < rows; r++) {
		for (int c = 0; c < ncols; c++)
			vals[c] = p->pq->getisnull(res, r, c) ? NULL : p->pq->getvalue(res, r, c);
		if (fn(arg, ncols, vals))
			break;
	}
	return rows;
}

/* Connected, or reconnected now. */
static int pg_connected(struct db_pg *p)
{
	if (p->pq->status(p->conn) == CONNECTION_OK)
		return 0;
	p->pq->reset(p->conn);
	if (p->pq->status(p->conn) != CONNECTION_OK)
		return pg_error("connection lost", p->pq->error_message(p->conn));
	return 0;
}

/* The statement, sent again on a new connection when the server went
 * away since the last one (libpq learns it only by trying) and no
 * transaction was open: one that was is lost with the connection. */
static PGresult *pg_send(struct db_pg *p, const char *sql, int n, const char *const *params)
{
	const struct pq_lib *pq = p->pq;
	PGresult *res;

	if (pg_connected(p) < 0)
		return NULL;
	res = pq->exec_params(p->conn, sql, n, NULL, params, NULL, NULL, 0);
	if (pq->status(p->conn) == CONNECTION_OK || p->in_tx)
		return res;
	pq->clear(res);
	if (pg_connected(p) < 0)
		return NULL;
	return pq->exec_params(p->conn, sql, n, NULL, params, NULL, NULL, 0);
}

static int pg_exec(struct db *db, const char *sql, int n, const char *const *params,
		   db_row_fn fn, void *arg)
{
	struct db_pg *p = (struct db_pg *)db;
	const struct pq_lib *pq = p->pq;
	PGresult *res = pg_send(p, sql, n, params);
	int rc;

	if (!res)
		return err_msg()[0] ? -1 : pg_error(sql, pq->error_message(p->conn));
	switch (pq->result_status(res)) {
	case PGRES_TUPLES_OK:
		rc = pg_rows(p, res, fn, arg);
		break;
	case PGRES_COMMAND_OK:
		rc = atoi(pq->cmd_tuples(res));
		break;
	default: {
		const char *state = pq->result_error_field(res, PG_DIAG_SQLSTATE);

		pg_error(sql, pq->result_error_message(res));
		/* class 23: integrity constraint violation */
		rc = state && !strncmp(state, "23", 2) ? DB_CONFLICT : -1;
	}
	}
	pq->clear(res);
	if (!strncmp(sql, "BEGIN", 5))
		p->in_tx = rc >= 0;
	else if (!strcmp(sql, "COMMIT") || !strcmp(sql, "ROLLBACK"))
		p->in_tx = 0;
	return rc;
}

static void pg_close(struct db *db)
{
	struct db_pg *p = (struct db_pg *)db;

	if (p->conn)
		p->pq->finish(p->conn);
	free(p);
}

static const struct db_ops pg_ops = {
	.exec = pg_exec,
	.close = pg_close,
	.begin_sql = "BEGIN",
	/* Two hubs starting at once must not both create the tables. */
	.schema_lock = "SELECT pg_advisory_xact_lock(7270307)",
	.for_update = " FOR UPDATE",
	.name = "postgresql",
};

int db_pg_open(const char *url, struct db **out)
{
	/* Later keywords win: the URL's own connect_timeout overrides ours. */
	const char *const keys[] = { "connect_timeout", "dbname", NULL };
	const char *const vals[] = { PG_CONNECT_TIMEOUT_S, url, NULL };
	struct db_pg *p = calloc(1, sizeof(*p));

	if (!p)
		return err_set("out of memory");
	p->base.ops = &pg_ops;
	p->pq = pq_lib();
	if (!p->pq) {
		free(p);
		return -1;
	}
	p->conn = p->pq->connectdb_params(keys, vals, 1);
	if (!p->conn) {
		free(p);
		return err_set("registry (postgresql): out of memory");
	}
	if (p->pq->status(p->conn) != CONNECTION_OK) {
		pg_error("cannot connect", p->pq->error_message(p->conn));
		pg_close(&p->base);
		return -1;
	}
	if (db_run(&p->base, "SET client_min_messages = warning") < 0) {
		pg_close(&p->base);
		return -1;
	}
	*out = &p->base;
	return 0;
}

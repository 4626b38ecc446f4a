/*
 * registry_int.h - what the registry's files (registry.c, registry_apps.c,
 * registry_move.c) share: the registry itself, its SQL helpers and the
 * facts placement decides on.  Not for use outside src/hub/registry*.c.
 */
#ifndef PC_HUB_REGISTRY_INT_H
#define PC_HUB_REGISTRY_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/db.h"
#include "hub/placement.h"
#include "hub/registry.h"

#define PLACE_TRIES 3          /* a port taken by another hub meanwhile: again */
#define PLACE_WORKERS_MAX 1024

struct hub_registry {
	struct db *db;
	pthread_mutex_t lock;  /* one connection: one statement at a time */
};

/* The engine's exec (db.h). */
int reg_exec(struct hub_registry *r, const char *sql, int n, const char *const *p,
	     db_row_fn fn, void *arg);
/* The same, alone: with the registry's lock held. */
int reg_exec_locked(struct hub_registry *r, const char *sql, int n, const char *const *p,
		    db_row_fn fn, void *arg);
/* Open a transaction that writes; commit it; roll it back after a
 * failure, keeping the failure's message (returns rc). */
int reg_begin(struct hub_registry *r);
int reg_commit(struct hub_registry *r);
int reg_rollback(struct hub_registry *r, int rc);
/* An outcome that is not a failure of the engine: its message, its code. */
int reg_outcome(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reg_fmt_i64(char *buf, size_t len, int64_t v);
int64_t reg_to_i64(const char *s);

/* Row callbacks: the first column as text into buf (found set), or as a
 * number into an int64_t. */
struct reg_text_out {
	char *buf;
	size_t len;
	int found;
};
int reg_first_text(void *arg, int ncols, const char *const *vals);
int reg_first_i64(void *arg, int ncols, const char *const *vals);

/* The workers that are up, with what placement decides on for an app of
 * tenant (its ports taken there, the tenant's apps there). */
struct reg_candidates {
	struct place_candidate c[PLACE_WORKERS_MAX];
	size_t n;
};
int reg_gather_candidates(struct hub_registry *r, const char *tenant,
			  const struct app_spec *spec, struct reg_candidates *cs);
/* The host ports the app takes on worker; DB_CONFLICT if one is taken. */
int reg_insert_ports(struct hub_registry *r, const struct app_spec *spec, const char *worker);

/* In a transaction that changes what DNS answers (an app made, removed
 * or moved): the zone's SOA serial moves on. */
int reg_zone_bump(struct hub_registry *r);

/* States in which an app's tree ran on its worker (app_runs.state): lost
 * with the worker. */
#define RAN "('running', 'swapping-out', 'swapping-in', 'failed')"

#endif

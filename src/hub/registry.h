/*
 * registry.h - the hub's registry: tenants (name, token hash), worker
 * tokens (hashes), workers (name, address, memory, last heartbeat,
 * up/down), apps (name, tenant, worker, state, spec, image) and the ports
 * each app takes on its worker.  Over SQLite or PostgreSQL (db.h); with
 * PostgreSQL several hubs share it, so every decision that must not race
 * (placement, names, ports) is a transaction checked by the database's
 * own constraints.  Calls are serialised on one connection per hub.
 *
 * Returns: 0, -1 (an engine failure: err_msg), or one of the outcomes
 * below, each with its message in err_msg.
 */
#ifndef PC_HUB_REGISTRY_H
#define PC_HUB_REGISTRY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/dns.h"
#include "hub/request.h"
#include "worker/spec.h"

#define HUBREG_NOTFOUND 1    /* no such tenant, worker or app (for this tenant) */
#define HUBREG_EXISTS 2      /* the name is taken */
#define HUBREG_NOPLACE 3     /* no worker that is up can take the app */
#define HUBREG_BUSY 4        /* a tenant that still has apps */
#define HUBREG_LIMIT 5       /* over the tenant's limit */

struct hub_registry;

/* url: "postgresql://..." or NULL for SQLite at sqlite_path. */
int hubreg_open(const char *url, const char *sqlite_path, struct hub_registry **out);
void hubreg_close(struct hub_registry *r);
/* "sqlite" or "postgresql" */
const char *hubreg_engine(const struct hub_registry *r);

int hubreg_tenant_add(struct hub_registry *r, const char *name, const char *token_hash,
		      int64_t now_ms);
int hubreg_tenant_remove(struct hub_registry *r, const char *name);
/* A tenant's limits: at most max_apps apps and max_memory bytes of their
 * memory (each app's --memory, or placement's reserve without one); 0 is
 * no limit. */
int hubreg_tenant_limit(struct hub_registry *r, const char *name, int64_t max_apps,
			int64_t max_memory);
/* [{"name", "apps", "created", "max_apps", "max_memory"}] */
int hubreg_tenant_list(struct hub_registry *r, json_t **out);
/* The tenant whose token hashes to hash, into name (HUB_NAME_MAX + 1). */
int hubreg_tenant_by_token(struct hub_registry *r, const char *hash, char *name);

int hubreg_worker_token_add(struct hub_registry *r, const char *hash, int64_t now_ms);
/* 0 when hash is a worker token's, HUBREG_NOTFOUND when not. */
int hubreg_worker_token_check(struct hub_registry *r, const char *hash);

/* Register or refresh a worker (its heartbeat, at now_ms): it is up. */
int hubreg_worker_beat(struct hub_registry *r, const struct worker_report *w, int64_t now_ms);
/* [{"name", "address", "state", "mem_total_bytes", "mem_free_bytes",
 *   "apps", "last_heartbeat", "mem_low_bytes"}] */
int hubreg_worker_list(struct hub_registry *r, json_t **out);
/* Mark down every up worker silent since before cutoff_ms; each one's
 * name goes to fn.  Returns how many, or -1. */
int hubreg_workers_expire(struct hub_registry *r, int64_t cutoff_ms,
			  void (*fn)(const char *name, void *arg), void *arg);
/* The app records placed on worker (what it is to run). */
int hubreg_worker_apps(struct hub_registry *r, const char *worker, json_t **out);

/* Place a new app of tenant on a worker (placement.h) and record it. */
int hubreg_app_create(struct hub_registry *r, const char *tenant, const struct app_spec *spec,
		      int64_t now_ms, json_t **out);
int hubreg_app_list(struct hub_registry *r, const char *tenant, json_t **out);
int hubreg_app_get(struct hub_registry *r, const char *tenant, const char *name, json_t **out);
int hubreg_app_remove(struct hub_registry *r, const char *tenant, const char *name);
/* Move tenant's app name to worker `to` (up, its ports free there, the
 * memory it needs free), in one transaction; HUBREG_BUSY with the reason
 * when `to` cannot take it. */
int hubreg_app_move(struct hub_registry *r, const char *tenant, const char *name,
		    const char *to, json_t **out);
/* The address DNS gives for app name (lowercase): its worker's.  An app
 * whose worker is down is first moved to the worker placement picks among
 * those up (the one that will revive it), its name in moved_from
 * (HUB_NAME_MAX + 1 bytes; "" when it did not move); with none up it
 * stays.  *stored: the app is not running (its worker will revive it).
 * 0 and addr filled, HUBREG_NOTFOUND, or -1. */
int hubreg_app_address(struct hub_registry *r, const char *name, char *addr, size_t len,
		       char *moved_from, int *stored);
/* 1 while app name's worker is up and about to take it over (it has an
 * image and no worker holds it yet), 0 not, -1 cannot tell. */
int hubreg_app_taking(struct hub_registry *r, const char *name);

/* The apps running on worker (placed there and held there, its last
 * report running), by name: [{"name", "tenant", "memory"}] (memory: the
 * spec's --memory, 0 none). */
int hubreg_running_on(struct hub_registry *r, const char *worker, json_t **out);

/* registry_hubs.c: the hubs, as the zone's name servers.  A hub's watch
 * refreshes its row (name, DNS address or "") every round; hub_list gives
 * those refreshed since cutoff_ms, by name (at most max, *n of them); a
 * hub that stops forgets its own. */
int hubreg_hub_beat(struct hub_registry *r, const char *name, const char *address,
		    int64_t now_ms);
int hubreg_hub_forget(struct hub_registry *r, const char *name);
int hubreg_hub_list(struct hub_registry *r, int64_t cutoff_ms, struct dns_ns *out, size_t max,
		    size_t *n);

/* registry_runs.c: what workers report of the apps they run. */
/* A worker's report (request.h): held, the app must be placed on it (else
 * HUBREG_BUSY: let it go); let go, it must be the app's holder (else
 * HUBREG_BUSY).  HUBREG_NOTFOUND: no such app.  A held report with
 * move_failed, from the app's holder: the app's record (its placement,
 * ports and so its DNS answer) goes back to that worker in the same
 * transaction (HUBREG_BUSY if a port of it is taken there now), and the
 * failure shows as the app's "move_failed" until its next move. */
int hubreg_app_report(struct hub_registry *r, const char *worker, const struct run_report *rep);
/* The zone's SOA serial: it moves on with every change to an app's
 * address record (made, removed, moved). */
int hubreg_zone_serial(struct hub_registry *r, int64_t *serial);

/* registry_asks.c: a tenant's request (op: swap-out, swap-in, logs) for
 * the worker that holds its app (up, the app placed there: else
 * HUBREG_BUSY; HUBREG_NOTFOUND: no such app of tenant); its new id
 * (HUB_ASK_ID_LEN + 1 bytes).  The worker sees it in its sync
 * (hubreg_ask_pending: [{"id", "app", "op"}]) and answers it
 * (hubreg_ask_answer: an HTTP status and a text; HUBREG_NOTFOUND when it
 * is not that worker's or answered already); the asker reads the answer
 * (status 0: none yet; *answer malloc'd, and the worker's name) and
 * forgets the request. */
int hubreg_ask_create(struct hub_registry *r, const char *tenant, const char *app,
		      const char *op, int64_t now_ms, char *id);
int hubreg_ask_pending(struct hub_registry *r, const char *worker, json_t **out);
int hubreg_ask_answer(struct hub_registry *r, const char *worker, const char *id, int status,
		      const char *answer);
int hubreg_ask_result(struct hub_registry *r, const char *id, int *status, char **answer,
		      char *worker);
int hubreg_ask_forget(struct hub_registry *r, const char *id);

/* The apps of down workers move to the workers placement picks, as a DNS
 * query would move them (hubreg_app_address): those that ran there (or
 * never started) to be restarted from their last image, the swapped-out
 * ones to be taken over asleep (the new worker makes their boxes ahead and
 * holds their packets; a packet, a DNS wake or their timer, app_timers,
 * revives them).  fn hears each moved app, its old worker, its new
 * address and whether it ran there.  Returns
 * how many moved, or -1.  (The hub's watch calls it every round, so an
 * app no worker could take is moved as soon as one can.) */
int hubreg_rehome(struct hub_registry *r,
		  void (*fn)(const char *app, const char *from, const char *addr, int ran, void *arg),
		  void *arg);
/* Any app record: GET /workers/W/apps/APP (a worker asking about an app
 * it has that is no longer placed on it). */
int hubreg_app_any(struct hub_registry *r, const char *name, json_t **out);

#endif

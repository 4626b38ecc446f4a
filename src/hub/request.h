/*
 * request.h - the hub's own request bodies, parsed and validated by pure
 * functions (fuzzed by fuzz/hub_request.c): a worker's registration and
 * heartbeat, and the hub's rules for app and tenant names.  An app's
 * spec is api/request.h's, as for `picocenter serve`.
 */
#ifndef PC_HUB_REQUEST_H
#define PC_HUB_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <netinet/in.h>

#define HUB_NAME_MAX 63
#define HUB_ADDR_MAX INET6_ADDRSTRLEN

/* PUT /workers/NAME: {"address", "mem_total_bytes", "mem_free_bytes"[,
 * "mem_low_bytes"][, "cached": [APP, ...]]}: "cached", the apps whose
 * images the worker has in its chunk cache (at most HUB_CACHED_MAX;
 * absent: as before); "mem_low_bytes", the free memory below which it is
 * short (absent or 0: never). */
#define HUB_CACHED_MAX 64
#define HUB_MEM_MAX (1LL << 50)     /* a petabyte: anything larger is a mistake */
struct worker_report {
	char name[HUB_NAME_MAX + 1];
	char address[HUB_ADDR_MAX];   /* normalised (inet_ntop) */
	int64_t mem_total;
	int64_t mem_free;
	int64_t mem_low;
	int has_cached;
	size_t ncached;
	char cached[HUB_CACHED_MAX][HUB_NAME_MAX + 1];
};

/* Worker, tenant and (on the hub) app names are DNS labels: 1-63 of
 * [a-z0-9-], not starting or ending with '-'.  what: "worker", ... */
int hub_check_name(const char *what, const char *name);
/* POST /apps/NAME/move: {"to": WORKER}; the worker's name into to
 * (HUB_NAME_MAX + 1 bytes). */
int hub_parse_move(const char *body, size_t len, char *to);
/* Parse the body of PUT /workers/name into w; errors for a 400. */
int hub_parse_worker(const char *name, const char *body, size_t len, struct worker_report *w);

/* PUT /workers/NAME/apps/APP: what a worker reports of an app it holds
 * ({"held": true, "state": S, "image_ms": T}) or has let go of
 * ({"held": false, "image_ms": T}: its image in the store is whole).  S is
 * one of the daemon's states (running, napping, asleep, failed, ...);
 * image_ms the wall-clock time its newest image was taken, 0 for none.
 * A holder that could not hand the app over (a move) adds
 * "move_failed": WHY (1-HUB_MOVE_ERR_MAX bytes of text) to a held report:
 * the app stays with it.  A held report may carry "box_addr": the IPv4
 * address of the app's box there (a worker that revives it elsewhere
 * gives its box the same one when free).  A report of a swapped-out app
 * (napping, asleep, or let go) may carry "timer_due_ms": when the
 * earliest timer of its image is due (wall clock, ms), so that whichever
 * worker holds it next wakes it then. */
#define HUB_STATE_MAX 16
#define HUB_MOVE_ERR_MAX 400
struct run_report {
	char app[HUB_NAME_MAX + 1];
	int held;
	char state[HUB_STATE_MAX];     /* "stored" when let go */
	int64_t image_ms;
	char move_failed[HUB_MOVE_ERR_MAX + 1];   /* "" none */
	char box_addr[INET_ADDRSTRLEN];           /* "" none */
	int64_t timer_due_ms;          /* its image's earliest timer, wall clock; 0 none */
};
int hub_parse_run(const char *app, const char *body, size_t len, struct run_report *r);

/* A tenant's request for the worker that holds its app (swap-out,
 * swap-in, logs): its id is HUB_ASK_ID_LEN lowercase hex digits.  The
 * worker answers PUT /workers/NAME/asks/ID {"status": 100-599,
 * "answer": TEXT} (at most HUB_ASK_ANSWER_MAX bytes; *answer malloc'd). */
#define HUB_ASK_ID_LEN 16
#define HUB_ASK_OP_MAX 16
#define HUB_ASKS_MAX 4
#define HUB_ASK_ANSWER_MAX (128 * 1024)
int hub_ask_op_known(const char *op);
int hub_check_ask_id(const char *id);
int hub_parse_ask_answer(const char *body, size_t len, int *status, char **answer);

/* One app of the hub's answer to GET /workers/NAME/sync, as a worker
 * takes it: the hub's fields checked, the rest a spec as the API's own
 * (spec_from_json), its pending requests ("asks": [{"id", "op"}], the
 * first HUB_ASKS_MAX).  spec_free(&p->spec) after a success. */
#include "worker/spec.h"
struct placed_ask {
	char id[HUB_ASK_ID_LEN + 1];
	char op[HUB_ASK_OP_MAX];
};
struct placed_app {
	struct placed_ask asks[HUB_ASKS_MAX];
	size_t nasks;
	uint32_t box_addr;               /* its box's address where it ran, network order, 0 none */
	char worker[HUB_NAME_MAX + 1];   /* where it is placed */
	char holder[HUB_NAME_MAX + 1];   /* the worker that has it, "" none */
	int holder_up;
	int64_t image_ms;                /* its newest image, 0 none */
	int64_t wake_ms;                 /* DNS asked for it then, 0 not lately */
	int64_t timer_due_ms;            /* its image's earliest timer is due then, 0 none */
	int asleep;                      /* swapped out where it was: take it over asleep */
	struct app_spec spec;
};
int hub_parse_placed(const json_t *entry, struct placed_app *p);

#endif

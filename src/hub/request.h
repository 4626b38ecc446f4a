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

#include <netinet/in.h>

#define HUB_NAME_MAX 63
#define HUB_ADDR_MAX INET6_ADDRSTRLEN

/* PUT /workers/NAME: {"address", "mem_total_bytes", "mem_free_bytes"} */
struct worker_report {
	char name[HUB_NAME_MAX + 1];
	char address[HUB_ADDR_MAX];   /* normalised (inet_ntop) */
	int64_t mem_total;
	int64_t mem_free;
};

/* Worker, tenant and (on the hub) app names are DNS labels: 1-63 of
 * [a-z0-9-], not starting or ending with '-'.  what: "worker", ... */
int hub_check_name(const char *what, const char *name);
/* POST /apps/NAME/move: {"to": WORKER}; the worker's name into to
 * (HUB_NAME_MAX + 1 bytes). */
int hub_parse_move(const char *body, size_t len, char *to);
/* Parse the body of PUT /workers/name into w; errors for a 400. */
int hub_parse_worker(const char *name, const char *body, size_t len, struct worker_report *w);

#endif

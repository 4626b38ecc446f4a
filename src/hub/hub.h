/*
 * hub.h - `picocenter hub`, the control plane of many machines: the
 * registry (SQLite in the state directory, or PostgreSQL shared by
 * several hubs), DNS for the apps' zone, the HTTP/JSON API for tenants
 * and workers (api.c), and the watch that marks silent workers down.
 * See docs/hub.md.
 */
#ifndef PC_HUB_HUB_H
#define PC_HUB_HUB_H

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <jansson.h>
#include <stdint.h>

#include "hub/dns.h"
#include "hub/notify.h"
#include "hub/registry.h"

#define HUB_WORKER_TIMEOUT_MS 15000
#define HUB_HUB_TIMEOUT_MS 5000

struct hub_opts {
	const char *state_dir;
	const char *zone;
	const char *db_url;         /* NULL: SQLite in the state dir */
	const char *listen;         /* ADDR:PORT for HTTPS, or NULL */
	const char *dns;            /* ADDR:PORT for DNS */
	const char *name;           /* its name server is NAME.ns.ZONE; NULL: the host's */
	const char *ns_address;     /* its address in NS glue; NULL: --dns's */
	const char *tls_cert, *tls_key;
	uint32_t ttl;
	int64_t worker_timeout_ms;
	int64_t hub_timeout_ms;     /* another hub silent this long is no name server */
};

struct hub {
	char dir[PATH_MAX - 64];
	struct hub_registry *reg;
	struct dns_zone zone;
	int64_t worker_timeout_ms, hub_timeout_ms;
	int lock_fd;
	volatile sig_atomic_t stop;
	struct hub_notify news;     /* for workers waiting on GET /workers/W/sync */
	pthread_mutex_t serial_lock;  /* for the two below */
	int64_t serial, serial_at;  /* the zone's SOA serial, read then */
	struct dns_ns servers[DNS_NS_MAX];  /* the live hubs, read then */
	size_t nservers;
	int64_t servers_at;
	json_t *relieved;           /* worker: no move for memory until (ms) */
};

int hub_run(const struct hub_opts *o);

/* pressure.c: one round of moves under memory pressure (a worker short of
 * memory by its own threshold has its largest running app moved away). */
int hub_relieve(struct hub *h);

/* Open the registry a hub in dir uses: url, else the URL the hub saved
 * in dir/db.url, else SQLite dir/registry.db (what `picocenter tenant`
 * and `hub worker-token` use on the hub's machine). */
int hub_registry_open(const char *dir, const char *url, struct hub_registry **out);

/* One line to stderr: "TIME hub: text". */
void hub_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int64_t hub_now_ms(void);

#endif

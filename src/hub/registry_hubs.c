/* registry_hubs.c - the hubs themselves in the registry (registry.h):
 * each hub's name and DNS address, refreshed by its watch, so that every
 * hub lists the live ones as the zone's name servers. */
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "hub/registry_int.h"

int hubreg_hub_beat(struct hub_registry *r, const char *name, const char *address,
		    int64_t now_ms)
{
	char now[24];
	const char *p[] = { name, address, now };
	int rc;

	reg_fmt_i64(now, sizeof(now), now_ms);
	rc = reg_exec_locked(r, "INSERT INTO hubs (name, address, heartbeat_ms) VALUES ($1, $2, "
		     "CAST($3 AS BIGINT)) ON CONFLICT (name) DO UPDATE SET "
		     "address = excluded.address, heartbeat_ms = excluded.heartbeat_ms",
		  3, p, NULL, NULL);
	return rc < 0 ? -1 : 0;
}

int hubreg_hub_forget(struct hub_registry *r, const char *name)
{
	const char *p[] = { name };

	return reg_exec_locked(r, "DELETE FROM hubs WHERE name = $1", 1, p, NULL, NULL) < 0 ? -1 : 0;
}

struct hub_rows {
	struct dns_ns *out;
	size_t max, n;
};

/* A row that does not fit (a name or an address too long) is skipped. */
static int hub_row(void *arg, int ncols, const char *const *v)
{
	struct hub_rows *h = arg;
	struct dns_ns *ns = &h->out[h->n];

	if (ncols < 2 || !v[0] || !v[1] || h->n >= h->max)
		return 0;
	if (snprintf(ns->name, sizeof(ns->name), "%s", v[0]) >= (int)sizeof(ns->name) ||
	    snprintf(ns->addr, sizeof(ns->addr), "%s", v[1]) >= (int)sizeof(ns->addr))
		return 0;
	h->n++;
	return 0;
}

int hubreg_hub_list(struct hub_registry *r, int64_t cutoff_ms, struct dns_ns *out, size_t max,
		    size_t *n)
{
	struct hub_rows h = { out, max, 0 };
	char cutoff[24];
	const char *p[] = { cutoff };
	int rc;

	reg_fmt_i64(cutoff, sizeof(cutoff), cutoff_ms);
	rc = reg_exec_locked(r, "SELECT name, address FROM hubs WHERE heartbeat_ms >= CAST($1 AS BIGINT) "
		     "ORDER BY name", 1, p, hub_row, &h);
	*n = rc < 0 ? 0 : h.n;
	return rc < 0 ? -1 : 0;
}

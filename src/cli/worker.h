/*
 * worker.h - what `picocenter worker`'s two files share: its options, its
 * log line and its heartbeat (worker.c), and its link to the hub
 * (worker_sync.c), the agent of the serve daemon it runs.
 */
#ifndef PC_CLI_WORKER_H
#define PC_CLI_WORKER_H

#include "cli/client.h"
#include "hub/request.h"

struct daemon;

/* Below this much free memory (MemAvailable) a worker is short of it: the
 * hub moves its apps away (docs/hub.md); --mem-low. */
#define WORKER_MEM_LOW (256ULL << 20)

struct worker_opts {
	struct target hub;
	const char *state_dir;
	const char *address;
	const char *store;
	const char *bridge, *subnet, *subnet6;
	char name[HUB_NAME_MAX + 1];
	uint64_t mem_low;       /* short of memory below this much free (--mem-low) */
	int refused;            /* the hub refused the worker for good */
};

void worker_log(const struct worker_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* One heartbeat (cached: a JSON list of the apps whose images are in the
 * chunk cache, or NULL: unchanged): 0 and the hub's timeout in
 * *timeout_ms; 1 when the hub refused it for good (a bad token or
 * report); -1 when it could not be delivered (tried again). */
int worker_beat(const struct worker_opts *o, const char *cached, long long *timeout_ms);

/* The daemon's agent (daemon_opts.agent, arg: the worker_opts): heartbeats,
 * and the apps the hub places on this worker brought to life here. */
void worker_agent(struct daemon *d, void *arg);

#endif

/*
 * app.h - one hosted app as the daemon knows it: its spec, its place in
 * the life cycle (docs/serve.md), its processes or held sockets, and what
 * its last swaps cost.  Fields are guarded by the daemon's lock.
 */
#ifndef PC_WORKER_APP_H
#define PC_WORKER_APP_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "cr/cr.h"
#include "cr/custody.h"
#include "worker/spec.h"
#include "worker/tree.h"

enum app_state {
	APP_CREATING,        /* being started; not in the registry yet */
	APP_RUNNING,
	APP_SWAPPING_OUT,
	APP_NAPPING,         /* no process; its sockets held */
	APP_ASLEEP,          /* no process, no held socket, its box asleep:
	                        the packets for its address are held */
	APP_SWAPPING_IN,
	APP_FAILED,
	APP_NR_STATES
};

struct swap_event {
	int64_t ms;                /* duration; -1: never */
	int64_t at_ms;             /* wall clock, ms since the epoch */
	char trigger[16];          /* idle, traffic, timer, api */
};

struct app {
	struct app_spec spec;
	enum app_state state;
	pid_t pid;                 /* root of the running tree */
	uint64_t pid_start;        /* its start time (tells a reused pid) */
	int pidfd;                 /* -1 when not running */
	pid_t op_pid;              /* engine child of the operation under way */
	char tag[64];              /* custody tag of its sockets in the holder */
	int64_t timer_due_ms;      /* wall clock of its earliest timer, -1 none */
	int64_t dump_started_ms;   /* wall clock when its image was taken */
	uint64_t rss_bytes, image_bytes, swaps;
	uint64_t generation;       /* of its image last stored (0: not known) */
	struct swap_event last_out, last_in;
	struct cr_mem_stats last_in_mem; /* what its last swap-in read (not saved) */
	char error[512];
	int restore_failed;        /* its last swap-in failed: verify the next dump */
	int held_lost;             /* its held sockets are gone: the next
	                              restore makes them anew from the image */
	int busy;                  /* an operation owns the app */
	int removed;               /* app rm under way */
	struct custody_item *held; /* the daemon's copies of the held sockets */
	size_t nr_held;
	uint32_t addr;             /* boxed: its box's IPv4 address (network order) */
	char veth[16];             /* boxed: the host end of its veth */
	struct tree_sample sample; /* the last idle sample */
	int64_t active_ms;         /* last time it was seen busy (monotonic) */
	int64_t napping_since_ms;  /* monotonic */
	uint32_t sleep_addr;       /* its box's address while its packets are
	                              held (asleep, or failed to revive), else 0 */
	struct app *next;
};

const char *app_state_name(enum app_state s);
int app_state_parse(const char *s, enum app_state *out);

/* The registry row (everything needed after a restart). */
json_t *app_to_row(const struct app *a);
/* Rebuild an app from its row (state as saved; fds not open). */
int app_from_row(const json_t *row, struct app *a);
/* What `app inspect --json` shows. */
json_t *app_to_view(const struct app *a);
void app_free(struct app *a);

#endif

/*
 * metrics.h - the daemon's counters and their Prometheus text form (GET
 * /metrics): apps per state, swap-in and swap-out latency histograms,
 * bytes written to and read from the store, bytes read locally instead
 * (chunk cache, local copies), the daemon's own memory.
 */
#ifndef PC_WORKER_METRICS_H
#define PC_WORKER_METRICS_H

#include <stdint.h>

#define METRICS_BUCKETS 12

struct metrics_hist {
	uint64_t count[METRICS_BUCKETS];     /* last bucket: +Inf */
	uint64_t total;
	double sum_s;
};

struct metrics {
	struct metrics_hist swap_out, swap_in;
	uint64_t store_written, store_read;
	/* Swap-ins: bytes read from the local chunk cache and from local
	 * copies instead of the store, and local copies used / rejected. */
	uint64_t cache_read, local_read, local_used, local_rejected;
	uint64_t swap_out_failures, swap_in_failures;
};

void metrics_observe(struct metrics_hist *h, int64_t ms);

struct daemon;
/* The Prometheus text (malloc'd) of d's metrics; lock held. */
char *metrics_render(struct daemon *d);

#endif

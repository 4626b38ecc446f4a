/*
 * tree.h - what the daemon reads about a running app's process tree from
 * /proc: whether its root still is the process it started (pid + start
 * time), and one activity sample (CPU time, socket traffic, memory) for
 * the idle policy (docs/serve.md).
 */
#ifndef PC_WORKER_TREE_H
#define PC_WORKER_TREE_H

#include <stdint.h>
#include <sys/types.h>

struct traffic;                  /* traffic.h */

struct tree_sample {
	uint64_t cpu_ns;             /* CPU time of every thread, summed */
	uint64_t traffic;            /* a digest of its TCP sockets and their byte counters */
	uint64_t rss_bytes;          /* resident memory, summed over processes */
	uint32_t nr_procs;
};

/* The start time (field 22 of /proc/PID/stat); 0 if pid is gone or a zombie. */
uint64_t tree_start_time(pid_t pid);
/* Sample the tree rooted at root; t (may be NULL) has the host's TCP byte
 * counters. */
int tree_sample(pid_t root, const struct traffic *t, struct tree_sample *s);

#endif

/*
 * child.h - run one engine operation in a forked child of the daemon, so
 * that the engine's process-wide state (statics, signal handlers, ptrace
 * relationships, fds) is private to the operation and a crash in it cannot
 * take the daemon down.  The child keeps only fds 0-2; its result and error
 * message come back through a shared anonymous mapping.
 */
#ifndef PC_WORKER_CHILD_H
#define PC_WORKER_CHILD_H

#include <stddef.h>
#include <sys/types.h>

#define CHILD_OUT_MAX 4096

/* Run fn(arg, out) in a child; out (outlen <= CHILD_OUT_MAX bytes) is
 * copied back when fn returned, whether it succeeded or not.  started(pid, ctx), if not NULL, is called in the parent
 * once the child runs (before waiting for it).  Returns fn's result, with
 * its error message as the current error. */
int child_run(int (*fn)(void *arg, void *out), void *arg, void *out, size_t outlen,
	      void (*started)(pid_t pid, void *ctx), void *ctx);

#endif

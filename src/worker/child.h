/*
 * child.h - run one engine operation in a forked child of the daemon, so
 * that the engine's process-wide state (statics, signal handlers, ptrace
 * relationships, fds) is private to the operation and a crash in it cannot
 * take the daemon down.  The child keeps only fds 0-2; its result and error
 * message come back through a shared anonymous mapping.  A spare child,
 * forked ahead, takes a swap-in's operation without a fork on its way.
 */
#ifndef PC_WORKER_CHILD_H
#define PC_WORKER_CHILD_H

#include <stddef.h>
#include <sys/types.h>

#define CHILD_OUT_MAX 4096
#define CHILD_ARG_MAX 16384

/* Run fn(arg, out) in a child; out (outlen <= CHILD_OUT_MAX bytes) is
 * copied back when fn returned, whether it succeeded or not.  started(pid, ctx), if not NULL, is called in the parent
 * once the child runs (before waiting for it).  Returns fn's result, with
 * its error message as the current error. */
int child_run(int (*fn)(void *arg, void *out), void *arg, void *out, size_t outlen,
	      void (*started)(pid_t pid, void *ctx), void *ctx);

/* As child_run, in the spare if one waits: pack(arg, dst, cap) writes a
 * copy of arg at dst that holds no pointer outside dst (its size, 0 if
 * it does not fit in cap), and fn gets that copy.  Without a spare, a
 * fresh child as child_run. */
int child_run_packed(int (*fn)(void *arg, void *out), const void *arg,
		     size_t (*pack)(const void *arg, void *dst, size_t cap), void *out,
		     size_t outlen, void (*started)(pid_t pid, void *ctx), void *ctx);

/* Fork the spare if none waits (the daemon's watch loop).  Failing
 * leaves none: operations fork as before. */
void child_spare_keep(void);
/* End the spare (daemon stopping). */
void child_spare_stop(void);

#endif

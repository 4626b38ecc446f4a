/*
 * holder.h - each app's custody holder: a small process of its own
 * (`picocenter cr hold DIR/apps/NAME/hold.sock`) that keeps the app's
 * listening, datagram and connected sockets while it is swapped out.  It
 * outlives a daemon restart.  The daemon borrows copies of the held
 * sockets to watch them for traffic (holder_watch).
 */
#ifndef PC_WORKER_HOLDER_H
#define PC_WORKER_HOLDER_H

#include <stddef.h>
#include <sys/types.h>

#include "cr/custody.h"

/* 1 if a holder answers at path (a connection it logs as a closed one). */
int holder_alive(const char *path);
/* 1 if pid is a holder serving path (from its command line, no connection). */
int holder_running(pid_t pid, const char *path);
/* Start a holder at path (its log appended to log); *pid = its pid. */
int holder_start(const char *path, const char *log, pid_t *pid);
/* Stop the holder pid serving path (the sockets it holds are closed). */
void holder_stop(pid_t pid, const char *path);
/* Copies of the sockets held under tag, for the daemon to poll. */
int holder_watch(const char *path, const char *tag, struct custody_item **items, size_t *n);

#endif

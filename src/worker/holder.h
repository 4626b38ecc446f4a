/*
 * holder.h - the daemon's custody holder: one process for all its apps
 * (`picocenter cr hold DIR/hold.sock`, src/cr/custody_hold.c) that keeps
 * every napping app's listening, datagram and connected sockets, each
 * app's under its custody tag.  It is nobody's child in the daemon and
 * outlives a daemon restart; the daemon starts it when an app first swaps
 * out and stops it once no app needs it.  The daemon borrows copies of
 * the held sockets to watch them for traffic (holder_watch).
 */
#ifndef PC_WORKER_HOLDER_H
#define PC_WORKER_HOLDER_H

#include <stddef.h>
#include <sys/types.h>

#include "cr/custody.h"

struct daemon;
struct app;

/* DIR/hold.sock and DIR/holder.log. */
void holder_paths(const struct daemon *d, char *sock, size_t slen, char *log, size_t llen);
/* 1 if a holder answers at path (*pid: its pid, from its credentials). */
int holder_find(const char *path, pid_t *pid);
/* Lock held (dropped while a holder starts): the daemon's holder runs. */
int holder_ensure(struct daemon *d);
/* Lock held, at start: find the holder an earlier daemon left (0: none). */
void holder_recover(struct daemon *d);
/* Lock held: stop the holder if no app needs it (none running or
 * napping, none busy, none failed with sockets held). */
void holder_retire(struct daemon *d);
/* Lock held (dropped while a holder starts): if the holder died, the
 * daemon's own copies of the napping apps' sockets go to a new one. */
void holder_check(struct daemon *d);
/* Lock held (dropped meanwhile), at start: the sockets a kept in a
 * holder of its own (DIR/apps/NAME/hold.sock, a daemon from before the
 * shared holder) move to the daemon's holder, and that holder is
 * stopped.  0 also when there is no such holder. */
int holder_adopt(struct daemon *d, struct app *a);
/* At start, for an app that holds nothing (running, asleep): stop the
 * holder of its own an earlier daemon left. */
void holder_stop_own(struct daemon *d, struct app *a);
/* Close the sockets held for a (its tag), if any; forgets the tag. */
void holder_drop(struct daemon *d, struct app *a);
/* Copies of the sockets held under tag, for the daemon to poll. */
int holder_watch(const char *path, const char *tag, struct custody_item **items, size_t *n);

#endif

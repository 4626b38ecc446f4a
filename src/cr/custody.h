/*
 * custody.h - listener custody: an app's listening (and unconnected
 * datagram) sockets stay open in a holder process while the app is
 * checkpointed, so the kernel keeps queueing connections for it; a restore
 * takes them back and installs them at their old fd numbers.
 *
 * The holder (custody_hold; `picocenter cr hold SOCKET_PATH`) stands in for
 * the worker daemon.  It listens on a unix SOCK_SEQPACKET socket at
 * SOCKET_PATH and keeps sets of sockets, each under a tag (the image's
 * custody tag): one holder serves many apps, each request on a
 * connection (and thread) of its own, so a GET kept open for a whole
 * restore delays nobody else.  One connection carries one request:
 *
 *   PUT tag n, then n ITEM key (+ the socket, SCM_RIGHTS), END
 *       -> OK | ERR text.  Replaces any set already held under tag.
 *   GET tag -> n ITEM key (+ socket), END n | ERR text.  The client then
 *       sends DONE once its restore succeeded (the holder drops the set)
 *       or just closes the connection (the holder keeps the set, so a
 *       failed restore can be retried).
 *   DROP tag -> OK (the set's sockets are closed; OK if none was held).
 *   STOP -> OK if the holder serves no other request: it no longer
 *       listens (the path is gone), closes every set and exits;
 *       otherwise ERR.
 *
 * The key names the socket in the image (the dumper's choice: e.g. the
 * open file description's id).
 */
#ifndef PC_CR_CUSTODY_H
#define PC_CR_CUSTODY_H

#include <stddef.h>
#include <stdint.h>

#define CUSTODY_TAG_MAX 64
#define CUSTODY_MAX_ITEMS 4096

struct custody_item {
	uint64_t key;
	int fd;
};

/* Give the holder at path duplicates of items[].fd under tag (the caller
 * keeps its own fds). */
int custody_put(const char *path, const char *tag, const struct custody_item *items,
		size_t n);
/* Take the set held under tag: *items (malloc'd, fds close-on-exec) and *n.
 * *conn is the open request: finish it with custody_done. */
int custody_get(const char *path, const char *tag, struct custody_item **items, size_t *n,
		int *conn);
/* End a GET: ok = the restore used the sockets (the holder forgets them);
 * !ok = the holder keeps them.  Closes conn. */
void custody_done(int conn, int ok);
/* Close and free what custody_get returned. */
void custody_free(struct custody_item *items, size_t n);
/* Close the set held under tag (none held: not an error). */
int custody_drop(const char *path, const char *tag);
/* Ask the holder to exit, closing what it holds (0: it stopped listening;
 * -1: it serves another request, or does not answer). */
int custody_stop(const char *path);
/* Serve at path until SIGINT, SIGTERM or a STOP; log: event lines on
 * stderr ("TIME hold: text"). */
int custody_hold(const char *path, int log);

#endif

/*
 * tcp_repair.h - an established TCP connection saved and rebuilt with the
 * kernel's TCP_REPAIR interface (see inet.h for the model and the caveats).
 *
 * Save: repair mode on, sequence numbers of both queues, the bytes in both
 * queues (peeked: the socket is left intact), the options negotiated at the
 * handshake (from TCP_INFO), the windows and the timestamp clock.
 * Rebuild: a new socket in repair mode gets the sequence numbers, is bound
 * and "connected" (no packet goes out in repair mode), gets the options, the
 * queued bytes and the windows; repair mode then goes off and the unsent
 * tail of the send queue is sent normally.
 */
#ifndef PC_CR_TCP_REPAIR_H
#define PC_CR_TCP_REPAIR_H

#include <sys/socket.h>

#include "cr/inet.h"

/* Repair mode on (1) or off (0) for fd. */
int tcp_repair_set(int fd, int on);
/* Save the connection of fd into *c; fd is left in repair mode (also on
 * error, when the caller must turn it off).  Allocates c->outq, c->inq. */
int tcp_repair_dump(int fd, struct cr_tcp_conn *c);
/* fd is a new TCP socket of the right family, not bound: rebuild the
 * connection local -> peer on it.  Leaves repair mode on: nothing is sent
 * until tcp_repair_finish (if the peer is rebuilt too, do that first: the
 * window probe sent at repair off would meet no socket and get a RST). */
int tcp_repair_restore(int fd, const struct cr_tcp_conn *c,
		       const struct sockaddr *local, const struct sockaddr *peer,
		       socklen_t alen);
/* Repair mode off (a window probe goes out), then the unsent tail of the
 * send queue is sent normally. */
int tcp_repair_finish(int fd, const struct cr_tcp_conn *c);

/* Whether a TCP state is dumped as a connection: ESTABLISHED and the
 * closing states with a peer (CLOSE_WAIT, FIN_WAIT1/2, LAST_ACK, CLOSING;
 * see CR_TCP_FIN_* in inet.h). */
int tcp_repair_carried_state(int state);

#endif

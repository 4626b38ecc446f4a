/*
 * custody_wire.h - the messages of listener custody (custody.h), shared
 * by its client side (custody.c) and the holder (custody_hold.c): one
 * fixed-size struct wire per SOCK_SEQPACKET message, an ITEM's socket
 * attached as SCM_RIGHTS.
 */
#ifndef PC_CR_CUSTODY_WIRE_H
#define PC_CR_CUSTODY_WIRE_H

#include <stdint.h>
#include <sys/un.h>

#include "cr/custody.h"

#define WIRE_MAGIC 0x55434350u      /* "PCCU" */

enum wire_op { OP_PUT = 1, OP_GET, OP_ITEM, OP_END, OP_OK, OP_ERR, OP_DONE, OP_DROP, OP_STOP };

struct wire {
	uint32_t magic;
	uint32_t op;
	uint64_t key;                  /* ITEM: the key; PUT/END: the count */
	char tag[CUSTODY_TAG_MAX];
	char text[192];                /* ERR: the message */
};

/* Send w with fd attached (none when fd < 0). */
int wire_send(int s, const struct wire *w, int fd);
/* Send a message without a socket (tag and text may be NULL). */
int wire_send_op(int s, uint32_t op, uint64_t key, const char *tag, const char *text);
/* Receive one message; *fd is the socket it carried or -1.  A connection
 * closed by the peer is an error ("connection closed by the other side"). */
int wire_recv(int s, struct wire *w, int *fd);
/* A tag is 1..CUSTODY_TAG_MAX-1 bytes. */
int custody_check_tag(const char *tag);
/* A SOCK_SEQPACKET socket and the address of path. */
int custody_socket(const char *path, struct sockaddr_un *sa);

#endif

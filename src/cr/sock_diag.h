/*
 * sock_diag.h - facts about a socket that no getsockopt tells, asked from
 * the kernel over NETLINK_SOCK_DIAG (inet_diag, unix_diag), in the
 * caller's network namespace.
 */
#ifndef PC_CR_SOCK_DIAG_H
#define PC_CR_SOCK_DIAG_H

#include <stdint.h>

/* The listen(2) backlog of the listening TCP socket with inode ino. */
int sock_diag_tcp_backlog(int family, uint64_t ino, uint32_t *backlog);

/* Make way for a restored connection local -> peer: a socket no process
 * holds any more that has the same addresses (TIME_WAIT, or closing after
 * its process died: a leftover of an earlier run of the image) is
 * destroyed (SOCK_DESTROY).  A socket a process holds is an error. */
struct sockaddr;
int sock_diag_tcp_evict(const struct sockaddr *local, const struct sockaddr *peer);

/* What unix_diag tells about one unix socket. */
struct sock_diag_unix {
	uint64_t ino;
	uint32_t type;                 /* SOCK_STREAM... */
	uint32_t state;                /* TCP_LISTEN, TCP_ESTABLISHED, TCP_CLOSE */
	uint32_t has_peer;             /* 1: connected (peer_ino 0: the peer is dead) */
	uint64_t peer_ino;
	uint32_t rqueue;               /* listening: connections waiting; else bytes */
	uint32_t wqueue;               /* listening: max backlog; else bytes sent, unread */
	uint32_t shutdown;             /* sk_shutdown: 1 RCV, 2 SEND */
	uint64_t vfs_ino, vfs_dev;     /* bound to a path: the socket file's inode */
};

int sock_diag_unix(uint64_t ino, struct sock_diag_unix *u);
/* The inode of a unix socket bound to the path whose inode is vfs_ino
 * (*sock_ino = 0: none). */
int sock_diag_unix_bound(uint64_t vfs_ino, uint64_t *sock_ino);

#endif

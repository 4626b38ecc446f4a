/*
 * sock_diag.h - facts about a socket that no getsockopt tells, asked from
 * the kernel over NETLINK_SOCK_DIAG (inet_diag), in the caller's network
 * namespace.
 */
#ifndef PC_CR_SOCK_DIAG_H
#define PC_CR_SOCK_DIAG_H

#include <stdint.h>

/* The listen(2) backlog of the listening TCP socket with inode ino. */
int sock_diag_tcp_backlog(int family, uint64_t ino, uint32_t *backlog);

#endif

/*
 * ports.h - is a port in use on the host: a listening TCP socket or a
 * bound UDP socket on it (IPv4 or IPv6), read from /proc/net; or in the
 * network namespace of a process (a boxed app's, to tell it is ready).
 */
#ifndef PC_WORKER_PORTS_H
#define PC_WORKER_PORTS_H

#include <stdint.h>
#include <sys/types.h>

#define PORT_LOOPBACK  1   /* in use on 127.0.0.0/8 or ::1 only */
#define PORT_REACHABLE 2   /* in use on another address (or all) */

/* *used = 0, or PORT_LOOPBACK / PORT_REACHABLE (both true) if a TCP
 * socket listens on port or a UDP socket is bound to it. */
int port_in_use(uint16_t port, int *used);
/* The same in the network namespace of pid (0: the caller's). */
int port_in_use_at(pid_t pid, uint16_t port, int *used);

#endif

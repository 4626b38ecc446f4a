/*
 * ports.h - is a port in use on the host: a listening TCP socket or a
 * bound UDP socket on it (IPv4 or IPv6), read from /proc/net.  Without a
 * box an app's ports are host ports: they decide whether an app may be
 * created and when it is ready.
 */
#ifndef PC_WORKER_PORTS_H
#define PC_WORKER_PORTS_H

#include <stdint.h>

/* *used = 1 if a TCP socket listens on port or a UDP socket is bound to it. */
int port_in_use(uint16_t port, int *used);

#endif

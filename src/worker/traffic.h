/*
 * traffic.h - the byte counters of every TCP socket on the host (received
 * and acknowledged bytes, from NETLINK_SOCK_DIAG with tcp_info), taken
 * once per idle round and looked up by socket inode; and the packet
 * counters of a boxed app's own interface (its veth's host end).
 */
#ifndef PC_WORKER_TRAFFIC_H
#define PC_WORKER_TRAFFIC_H

#include <stddef.h>
#include <stdint.h>

struct traffic_entry {
	uint64_t ino;
	uint64_t bytes;
};

struct traffic {
	struct traffic_entry *v;     /* sorted by ino */
	size_t n, cap;
};

int traffic_snapshot(struct traffic *t);
/* Bytes received + acked of the TCP socket ino (0 if unknown). */
uint64_t traffic_bytes(const struct traffic *t, uint64_t ino);
void traffic_free(struct traffic *t);
/* Packets received + sent by the host interface ifname (0 if unknown). */
uint64_t traffic_iface_packets(const char *ifname);

#endif

/*
 * netlock.h - the network lock of a dump: every established TCP connection
 * of the tree is frozen before any of them is read (see netlock.c).
 */
#ifndef PC_CR_NETLOCK_H
#define PC_CR_NETLOCK_H

#include <netinet/tcp.h>
#include <stdint.h>
#include <sys/types.h>

struct netlock;

/* Lock every established TCP connection of the processes host_pids[0..n).
 * On error nothing stays locked and *out is NULL. */
int netlock_take(const pid_t *host_pids, size_t n, struct netlock **out);
/* The windows of the connection with socket inode ino as they were before
 * the lock; NULL if the lock does not hold that connection. */
const struct tcp_repair_window *netlock_window(const struct netlock *nl, uint64_t ino);
/* End the lock.  lift: the connections go on (filter off, send window back,
 * repair mode off): the dump failed, the tree keeps running, or the sockets
 * went to custody; otherwise they stay frozen in repair mode, so that they
 * close silently with the tree.  Frees nl (NULL is fine). */
void netlock_release(struct netlock *nl, int lift);

#endif

/*
 * dns_server.h - the hub's DNS over UDP and TCP on one address (--dns):
 * DNS_UDP_THREADS threads answer datagrams (an answer the lookup holds
 * back for a moment, below, blocks one of them), one accepts TCP
 * connections and a thread
 * per connection (at most DNS_TCP_CONNS, each closed after
 * DNS_TCP_IDLE_S without a query) answers length-prefixed queries.  The
 * answers are dns.h's.
 */
#ifndef PC_HUB_DNS_SERVER_H
#define PC_HUB_DNS_SERVER_H

#include "hub/dns.h"

#define DNS_TCP_CONNS 64
#define DNS_UDP_THREADS 4
#define DNS_TCP_IDLE_S 10

struct dns_server;

/* Bind UDP and TCP on "ADDR:PORT" and answer for z with lookup(arg);
 * z, lookup and arg must outlive the server. */
int dns_server_start(const char *listen, const struct dns_zone *z, dns_lookup_fn lookup,
		     void *arg, struct dns_server **out);
/* Stop answering and wait for every thread. */
void dns_server_stop(struct dns_server *s);

#endif

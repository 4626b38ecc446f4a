/*
 * dns.h - the hub's DNS answers, as a pure function of a query (wire
 * format, parsed and built with ldns) and a lookup of app addresses: what
 * dns_server.c serves over UDP and TCP and fuzz/hub_dns.c feeds with
 * arbitrary bytes.  The hub is authoritative for one zone:
 *   - ZONE: SOA (its MNAME is the answering hub's SELF.ns.ZONE) and NS:
 *     one HUB.ns.ZONE per live hub (the zone's servers callback: the
 *     hubs of the registry; the answering hub is always one), each with
 *     its A or AAAA as glue in the additional section;
 *   - HUB.ns.ZONE: that hub's A or AAAA; ns.ZONE: the answering hub's
 *     own (when it listens on a specific address);
 *   - NAME.ZONE: A or AAAA, the address of the worker the app is on;
 *     NODATA (NOERROR, no answer) for the other family and other types;
 *   - NXDOMAIN for any other name under ZONE, REFUSED for names outside
 *     it, for zone transfers and for classes other than IN;
 *   - FORMERR for a query that does not parse or does not ask exactly one
 *     question, NOTIMP for opcodes other than QUERY, SERVFAIL when the
 *     registry cannot be read; anything shorter than a header, or a
 *     response, gets no answer.
 * Every record has the same TTL (--ttl); negative answers carry the SOA,
 * whose minimum is that TTL too and whose serial is the lookup's.
 */
#ifndef PC_HUB_DNS_H
#define PC_HUB_DNS_H

#include <ldns/ldns.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_UDP_MAX 512        /* without EDNS */
#define DNS_EDNS_MAX 1232      /* what we offer and honour at most */
#define DNS_TCP_MAX 65535
#define DNS_TTL_DEFAULT 5

/* The address of app name (a lowercase DNS label) into addr: 0 found,
 * 1 no such app, -1 cannot tell (SERVFAIL).  With name NULL: the zone's
 * SOA serial, in decimal, into addr (0; else the SOA says 1). */
typedef int (*dns_lookup_fn)(void *arg, const char *name, char *addr, size_t len);

/* A name server of the zone: a hub, NAME.ns.ZONE at addr ("" unknown). */
#define DNS_NS_MAX 16
#define DNS_NS_NAME_MAX 63
#define DNS_NS_ADDR_MAX 46
struct dns_ns {
	char name[DNS_NS_NAME_MAX + 1];
	char addr[DNS_NS_ADDR_MAX];
};

/* The zone's live name servers into out (at most max, by name): how
 * many.  Called with the lookup's arg. */
typedef size_t (*dns_servers_fn)(void *arg, struct dns_ns *out, size_t max);

struct dns_zone {
	ldns_rdf *apex;        /* canonical (lowercase) */
	uint8_t apex_labels;
	uint32_t ttl;
	ldns_rr *soa;          /* cloned into answers */
	struct dns_ns self;    /* the answering hub */
	dns_servers_fn servers; /* NULL: the answering hub alone */
};

/* zone: "example.org" (a trailing dot is optional); self: the answering
 * hub's name (a DNS label) and its DNS address or NULL. */
int dns_zone_init(struct dns_zone *z, const char *zone, uint32_t ttl, const char *self,
		  const char *ns_addr);
void dns_zone_free(struct dns_zone *z);

/* Answer the query (over TCP when tcp, else UDP: the answer fits the
 * query's EDNS size or 512 bytes, else is truncated with TC); *out
 * (malloc'd) is the answer, or NULL when the query gets none.  -1 only
 * when out of memory. */
int dns_answer(const struct dns_zone *z, const uint8_t *q, size_t qlen, int tcp,
	       dns_lookup_fn lookup, void *arg, uint8_t **out, size_t *outlen);

#endif

/*
 * dns.h - the hub's DNS answers, as a pure function of a query (wire
 * format, parsed and built with ldns) and a lookup of app addresses: what
 * dns_server.c serves over UDP and TCP and fuzz/hub_dns.c feeds with
 * arbitrary bytes.  The hub is authoritative for one zone:
 *   - ZONE: SOA and NS (the NS is ns.ZONE, whose A or AAAA is the hub's
 *     own DNS address when it listens on a specific one);
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

struct dns_zone {
	ldns_rdf *apex;        /* canonical (lowercase) */
	uint8_t apex_labels;
	uint32_t ttl;
	ldns_rr *soa, *ns;     /* cloned into answers */
	ldns_rr *ns_addr;      /* ns.ZONE's A or AAAA, or NULL */
};

/* zone: "example.org" (a trailing dot is optional); ns_addr: the hub's
 * DNS address or NULL. */
int dns_zone_init(struct dns_zone *z, const char *zone, uint32_t ttl, const char *ns_addr);
void dns_zone_free(struct dns_zone *z);

/* Answer the query (over TCP when tcp, else UDP: the answer fits the
 * query's EDNS size or 512 bytes, else is truncated with TC); *out
 * (malloc'd) is the answer, or NULL when the query gets none.  -1 only
 * when out of memory. */
int dns_answer(const struct dns_zone *z, const uint8_t *q, size_t qlen, int tcp,
	       dns_lookup_fn lookup, void *arg, uint8_t **out, size_t *outlen);

#endif

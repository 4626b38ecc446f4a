/*
 * hub_dns.c - libFuzzer target for the hub's DNS answers (src/hub/dns.c):
 * any bytes, as a UDP and as a TCP query, get either no answer or one that
 * ldns parses back, with the query's id, the QR bit, and the size limit
 * of its transport.  Lookups come from a fixed table: an IPv4 app, an
 * IPv6 app and one whose lookup fails (SERVFAIL); name servers too.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/dns.h"

static int lookup(void *arg, const char *name, char *addr, size_t len)
{
	(void)arg;
	if (!name)
		return snprintf(addr, len, "%s", len > 12 ? "4294967295" : "1") < 0 ? -1 : 0;
	if (!strcmp(name, "web"))
		return snprintf(addr, len, "192.0.2.1") < 0 ? -1 : 0;
	if (!strcmp(name, "v6"))
		return snprintf(addr, len, "2001:db8::1") < 0 ? -1 : 0;
	if (!strcmp(name, "broken"))
		return -1;
	return 1;
}

/* Two live hubs besides the answering one: one on IPv6, one without an
 * address. */
static size_t servers(void *arg, struct dns_ns *out, size_t max)
{
	static const struct dns_ns hubs[] = { { "a", "2001:db8::53" }, { "z", "" } };
	size_t n = max < 2 ? max : 2;

	(void)arg;
	memcpy(out, hubs, n * sizeof(*out));
	return n;
}

static void check(const uint8_t *q, size_t qlen, int tcp, const struct dns_zone *z)
{
	uint8_t *a = NULL;
	size_t alen = 0;
	ldns_pkt *p = NULL;

	if (dns_answer(z, q, qlen, tcp, lookup, NULL, &a, &alen) < 0)
		return;                 /* out of memory only */
	if (!a)
		return;
	assert(qlen >= 12 && alen >= 12);
	assert(a[0] == q[0] && a[1] == q[1] && (a[2] & 0x80));
	assert(alen <= (tcp ? DNS_TCP_MAX : DNS_EDNS_MAX));
	assert(ldns_wire2pkt(&p, a, alen) == LDNS_STATUS_OK);
	ldns_pkt_free(p);
	free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct dns_zone zone;
	static int ready;

	if (!ready) {
		assert(dns_zone_init(&zone, "apps.test", 5, "m", "127.0.0.1") == 0);
		zone.servers = servers;
		ready = 1;
	}
	check(data, len, 0, &zone);
	check(data, len, 1, &zone);
	return 0;
}

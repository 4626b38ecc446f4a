/* dns.c - answer DNS queries for the hub's zone (see dns.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "hub/dns.h"
#include "hub/request.h"

#define DNS_HEADER 12
#define SOA_REFRESH 3600
#define SOA_RETRY 600
#define SOA_EXPIRE 86400

static ldns_rr *rr_from_text(const char *text)
{
	ldns_rr *rr = NULL;

	return ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) == LDNS_STATUS_OK ? rr : NULL;
}

int dns_zone_init(struct dns_zone *z, const char *zone, uint32_t ttl, const char *self,
		  const char *ns_addr)
{
	char apex[300], text[1024];

	memset(z, 0, sizeof(*z));
	if (hub_check_name("hub", self) < 0)
		return -1;
	snprintf(apex, sizeof(apex), "%s%s", zone, zone[0] && zone[strlen(zone) - 1] == '.' ? "" : ".");
	z->apex = ldns_dname_new_frm_str(apex);
	if (!z->apex || strlen(zone) > 253 || !strcmp(apex, ".")) {
		dns_zone_free(z);
		return err_set("--zone %s is not a domain name", zone);
	}
	ldns_dname2canonical(z->apex);
	z->apex_labels = ldns_dname_label_count(z->apex);
	z->ttl = ttl;
	snprintf(z->self.name, sizeof(z->self.name), "%s", self);
	if (ns_addr && snprintf(z->self.addr, sizeof(z->self.addr), "%s", ns_addr) >=
			       (int)sizeof(z->self.addr)) {
		dns_zone_free(z);
		return err_set("the hub's DNS address %s is too long", ns_addr);
	}
	snprintf(text, sizeof(text), "%s %u IN SOA %s.ns.%s hostmaster.%s 1 %d %d %d %u", apex, ttl,
		 self, apex, apex, SOA_REFRESH, SOA_RETRY, SOA_EXPIRE, ttl);
	z->soa = rr_from_text(text);
	if (!z->soa) {
		dns_zone_free(z);
		return err_set("--zone %s: cannot make its SOA record", zone);
	}
	return 0;
}

void dns_zone_free(struct dns_zone *z)
{
	if (z->apex)
		ldns_rdf_deep_free(z->apex);
	if (z->soa)
		ldns_rr_free(z->soa);
	memset(z, 0, sizeof(*z));
}

/* A bare header answer (the query did not parse): its id, opcode and RD. */
static int header_only(const uint8_t *q, uint8_t rcode, uint8_t **out, size_t *outlen)
{
	uint8_t *a = calloc(1, DNS_HEADER);

	if (!a)
		return -1;
	a[0] = q[0];
	a[1] = q[1];
	a[2] = (uint8_t)(0x80 | (q[2] & 0x79));   /* QR, the opcode and RD */
	a[3] = rcode;
	*out = a;
	*outlen = DNS_HEADER;
	return 0;
}

/* What a question resolves to. */
struct reply {
	ldns_pkt_rcode rcode;
	int aa;                /* authoritative: the name is in the zone */
	ldns_rr_list *answer;  /* records to answer with */
	ldns_rr_list *extra;   /* glue for the additional section */
	int negative;          /* NXDOMAIN or NODATA: the SOA goes in authority */
	dns_lookup_fn lookup;  /* the SOA's serial too */
	void *arg;
};

/* The zone's live name servers (the answering hub among them), by name. */
static size_t servers(const struct dns_zone *z, const struct reply *r, struct dns_ns *ns)
{
	size_t n = z->servers ? z->servers(r->arg, ns, DNS_NS_MAX - 1) : 0, i;

	for (i = 0; i < n && strcmp(ns[i].name, z->self.name) < 0; i++)
		;
	if (i < n && !strcmp(ns[i].name, z->self.name))
		return n;
	memmove(ns + i + 1, ns + i, (n - i) * sizeof(*ns));
	ns[i] = z->self;
	return n + 1;
}

/* The zone's SOA with the serial the lookup gives (1 if it gives none). */
static ldns_rr *soa_clone(const struct dns_zone *z, const struct reply *r)
{
	ldns_rr *c = ldns_rr_clone(z->soa);
	char buf[24];
	char *end;
	unsigned long long v;
	ldns_rdf *serial, *old;

	if (!c || r->lookup(r->arg, NULL, buf, sizeof(buf)) != 0)
		return c;
	v = strtoull(buf, &end, 10);
	if (*end || end == buf || v == 0 || v > UINT32_MAX)
		return c;
	serial = ldns_native2rdf_int32(LDNS_RDF_TYPE_INT32, (uint32_t)v);
	old = serial ? ldns_rr_set_rdf(c, serial, 2) : NULL;
	if (old)
		ldns_rdf_deep_free(old);
	else if (serial)
		ldns_rdf_deep_free(serial);
	return c;
}

static int answer_address(const struct dns_zone *z, const ldns_rdf *owner, ldns_rr_type type,
			  const char *addr, ldns_rr_list *to, struct reply *r);

/* HUB.ns.ZONE as a domain name. */
static ldns_rdf *server_name(const struct dns_zone *z, const char *name)
{
	char *apex = ldns_rdf2str(z->apex), text[DNS_NS_NAME_MAX + 300];

	if (!apex)
		return NULL;
	snprintf(text, sizeof(text), "%s.ns.%s", name, apex);
	free(apex);
	return ldns_dname_new_frm_str(text);
}

/* A record of owner with rd (taken, freed on failure) onto the list. */
static int push_rr(const struct dns_zone *z, const ldns_rdf *owner, ldns_rr_type type,
		   ldns_rdf *rd, ldns_rr_list *to)
{
	ldns_rdf *own = ldns_rdf_clone(owner);
	ldns_rr *rr = ldns_rr_new();

	if (!own || !rr || !ldns_rr_push_rdf(rr, rd)) {
		ldns_rdf_deep_free(rd);
		if (own)
			ldns_rdf_deep_free(own);
		if (rr)
			ldns_rr_free(rr);
		return -1;
	}
	ldns_rr_set_owner(rr, own);
	ldns_rr_set_type(rr, type);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(rr, z->ttl);
	if (!ldns_rr_list_push_rr(to, rr)) {
		ldns_rr_free(rr);
		return -1;
	}
	return 0;
}

/* The apex's NS records, one per live hub, each hub's address as glue. */
static int answer_ns(const struct dns_zone *z, struct reply *r)
{
	struct dns_ns ns[DNS_NS_MAX];
	size_t n = servers(z, r, ns);

	for (size_t i = 0; i < n; i++) {
		ldns_rdf *target = hub_check_name("hub", ns[i].name) == 0 ? server_name(z, ns[i].name) : NULL;
		const ldns_rr *rr;

		err_clear();
		if (!target)
			continue;       /* a name the registry should not have: left out */
		if (push_rr(z, z->apex, LDNS_RR_TYPE_NS, target, r->answer) < 0)
			return -1;
		rr = ldns_rr_list_rr(r->answer, ldns_rr_list_rr_count(r->answer) - 1);
		/* glue that does not parse is left out */
		if (ns[i].addr[0])
			answer_address(z, ldns_rr_rdf(rr, 0), LDNS_RR_TYPE_ANY, ns[i].addr, r->extra,
				       r);
	}
	return 0;
}

/* The apex: SOA, NS (ANY: both); other types have no data. */
static int answer_apex(const struct dns_zone *z, ldns_rr_type type, struct reply *r)
{
	int rc = 0;

	if (type == LDNS_RR_TYPE_SOA || type == LDNS_RR_TYPE_ANY) {
		ldns_rr *c = soa_clone(z, r);

		rc |= c && ldns_rr_list_push_rr(r->answer, c) ? 0 : -1;
	}
	if (type == LDNS_RR_TYPE_NS || type == LDNS_RR_TYPE_ANY)
		rc |= answer_ns(z, r);
	r->negative = ldns_rr_list_rr_count(r->answer) == 0;
	return rc;
}

/* An address record for owner, if addr's family is the one asked for. */
static int answer_address(const struct dns_zone *z, const ldns_rdf *owner, ldns_rr_type type,
			  const char *addr, ldns_rr_list *to, struct reply *r)
{
	int v6 = strchr(addr, ':') != NULL;
	ldns_rr_type has = v6 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A;
	ldns_rdf *rd;

	if (type != has && type != LDNS_RR_TYPE_ANY) {
		r->negative = 1;
		return 0;
	}
	rd = ldns_rdf_new_frm_str(v6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, addr);
	return rd ? push_rr(z, owner, has, rd, to) : -1;
}

/* Label i (0: the leftmost) of qname, lowercase, if it is a DNS label
 * our names can have, into name (HUB_NAME_MAX + 1). */
static int label(const ldns_rdf *qname, size_t i, char *name)
{
	const uint8_t *d = ldns_rdf_data(qname);
	size_t at = 0, n;

	for (; i > 0; i--)
		at += 1 + (size_t)d[at];
	n = d[at];
	if (n == 0 || n > HUB_NAME_MAX || memchr(d + at + 1, '\0', n))
		return -1;
	memcpy(name, d + at + 1, n);
	name[n] = '\0';
	if (hub_check_name("app", name) < 0) {
		err_clear();
		return -1;
	}
	return 0;
}

static void nxdomain(struct reply *r)
{
	r->rcode = LDNS_RCODE_NXDOMAIN;
	r->negative = 1;
}

/* A name server's name: ns.ZONE (the answering hub) or HUB.ns.ZONE. */
static int answer_server(const struct dns_zone *z, const char *name, const ldns_rdf *owner,
			 ldns_rr_type type, struct reply *r)
{
	struct dns_ns ns[DNS_NS_MAX];
	size_t n = name ? servers(z, r, ns) : 0, i;
	const char *addr = name ? NULL : z->self.addr;

	for (i = 0; i < n && !addr; i++)
		if (!strcmp(ns[i].name, name))
			addr = ns[i].addr;
	if (!addr || !addr[0]) {
		nxdomain(r);
		return 0;
	}
	return answer_address(z, owner, type, addr, r->answer, r);
}

/* A name under the apex: an app's, or a name server's. */
static int answer_name(const struct dns_zone *z, const ldns_rdf *qname, const ldns_rdf *owner,
		       ldns_rr_type type, dns_lookup_fn lookup, void *arg, struct reply *r)
{
	char name[HUB_NAME_MAX + 1], addr[HUB_ADDR_MAX], parent[HUB_NAME_MAX + 1];
	size_t labels = ldns_dname_label_count(qname);
	int found;

	if (labels == z->apex_labels + 2U && label(qname, 1, parent) == 0 && !strcmp(parent, "ns") &&
	    label(qname, 0, name) == 0)
		return answer_server(z, name, owner, type, r);
	if (labels != z->apex_labels + 1U || label(qname, 0, name) < 0) {
		nxdomain(r);
		return 0;
	}
	if (!strcmp(name, "ns"))
		return answer_server(z, NULL, owner, type, r);
	found = lookup(arg, name, addr, sizeof(addr));
	if (found < 0) {
		r->rcode = LDNS_RCODE_SERVFAIL;
		return 0;
	}
	if (found > 0) {
		nxdomain(r);
		return 0;
	}
	return answer_address(z, owner, type, addr, r->answer, r);
}

/* Decide the answer to the one question. */
static int resolve(const struct dns_zone *z, const ldns_rr *question, dns_lookup_fn lookup,
		   void *arg, struct reply *r)
{
	const ldns_rdf *owner = ldns_rr_owner(question);
	ldns_rr_type type = ldns_rr_get_type(question);
	ldns_rr_class cls = ldns_rr_get_class(question);
	ldns_rdf *qname;
	int rc;

	if ((cls != LDNS_RR_CLASS_IN && cls != LDNS_RR_CLASS_ANY) || type == LDNS_RR_TYPE_AXFR ||
	    type == LDNS_RR_TYPE_IXFR || !owner || ldns_rdf_get_type(owner) != LDNS_RDF_TYPE_DNAME) {
		r->rcode = LDNS_RCODE_REFUSED;
		return 0;
	}
	qname = ldns_rdf_clone(owner);
	if (!qname)
		return -1;
	ldns_dname2canonical(qname);
	if (ldns_dname_compare(qname, z->apex) == 0) {
		r->aa = 1;
		rc = answer_apex(z, type, r);
	} else if (ldns_dname_is_subdomain(qname, z->apex)) {
		r->aa = 1;
		rc = answer_name(z, qname, owner, type, lookup, arg, r);
	} else {
		r->rcode = LDNS_RCODE_REFUSED;
		rc = 0;
	}
	ldns_rdf_deep_free(qname);
	return rc;
}

/* Answer packet for query q and reply r; sections cloned. */
static ldns_pkt *build(const struct dns_zone *z, const ldns_pkt *q, const ldns_rr *question,
		       const struct reply *r, size_t max)
{
	ldns_pkt *a = ldns_pkt_new();
	ldns_rr *qc = question ? ldns_rr_clone(question) : NULL;

	if (!a || (question && !qc)) {
		if (a)
			ldns_pkt_free(a);
		if (qc)
			ldns_rr_free(qc);
		return NULL;
	}
	ldns_pkt_set_id(a, ldns_pkt_id(q));
	ldns_pkt_set_qr(a, true);
	ldns_pkt_set_opcode(a, ldns_pkt_get_opcode(q));
	ldns_pkt_set_rd(a, ldns_pkt_rd(q));
	ldns_pkt_set_cd(a, ldns_pkt_cd(q));
	ldns_pkt_set_aa(a, r->aa);
	ldns_pkt_set_rcode(a, (uint8_t)r->rcode);
	if (qc)
		ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, qc);
	for (size_t i = 0; r->answer && i < ldns_rr_list_rr_count(r->answer); i++) {
		ldns_rr *c = ldns_rr_clone(ldns_rr_list_rr(r->answer, i));

		if (c)
			ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, c);
	}
	for (size_t i = 0; r->extra && i < ldns_rr_list_rr_count(r->extra); i++) {
		ldns_rr *c = ldns_rr_clone(ldns_rr_list_rr(r->extra, i));

		if (c)
			ldns_pkt_push_rr(a, LDNS_SECTION_ADDITIONAL, c);
	}
	if (r->negative) {
		ldns_rr *c = soa_clone(z, r);

		if (c)
			ldns_pkt_push_rr(a, LDNS_SECTION_AUTHORITY, c);
	}
	if (ldns_pkt_edns(q))
		ldns_pkt_set_edns_udp_size(a, (uint16_t)(max < DNS_EDNS_MAX ? max : DNS_EDNS_MAX));
	return a;
}

/* Encode a; when larger than max, again without answers and with TC. */
static int encode(ldns_pkt *a, size_t max, uint8_t **out, size_t *outlen)
{
	if (ldns_pkt2wire(out, a, outlen) != LDNS_STATUS_OK)
		return -1;
	if (*outlen <= max)
		return 0;
	free(*out);
	*out = NULL;
	ldns_rr_list_deep_free(ldns_pkt_answer(a));
	ldns_pkt_set_answer(a, ldns_rr_list_new());
	ldns_pkt_set_ancount(a, 0);
	ldns_rr_list_deep_free(ldns_pkt_authority(a));
	ldns_pkt_set_authority(a, ldns_rr_list_new());
	ldns_pkt_set_nscount(a, 0);
	ldns_rr_list_deep_free(ldns_pkt_additional(a));
	ldns_pkt_set_additional(a, ldns_rr_list_new());
	ldns_pkt_set_arcount(a, 0);
	ldns_pkt_set_tc(a, true);
	return ldns_pkt2wire(out, a, outlen) == LDNS_STATUS_OK ? 0 : -1;
}

/* The size an answer may have: over UDP the query's EDNS size, at most ours. */
static size_t room(const ldns_pkt *q, int tcp)
{
	if (tcp)
		return DNS_TCP_MAX;
	if (ldns_pkt_edns(q) && ldns_pkt_edns_udp_size(q) > DNS_UDP_MAX)
		return ldns_pkt_edns_udp_size(q) < DNS_EDNS_MAX ? ldns_pkt_edns_udp_size(q)
								 : DNS_EDNS_MAX;
	return DNS_UDP_MAX;
}

int dns_answer(const struct dns_zone *z, const uint8_t *q, size_t qlen, int tcp,
	       dns_lookup_fn lookup, void *arg, uint8_t **out, size_t *outlen)
{
	size_t max;
	struct reply r = { .rcode = LDNS_RCODE_NOERROR, .lookup = lookup, .arg = arg };
	const ldns_rr *question = NULL;
	ldns_pkt *qp = NULL, *a;
	int rc = 0;

	*out = NULL;
	*outlen = 0;
	if (qlen < DNS_HEADER || (q[2] & 0x80))
		return 0;              /* not a query: no answer */
	if (ldns_wire2pkt(&qp, q, qlen) != LDNS_STATUS_OK)
		return header_only(q, LDNS_RCODE_FORMERR, out, outlen);
	if (ldns_pkt_get_opcode(qp) != LDNS_PACKET_QUERY) {
		r.rcode = LDNS_RCODE_NOTIMPL;
	} else if (ldns_pkt_qdcount(qp) != 1 || ldns_rr_list_rr_count(ldns_pkt_question(qp)) != 1) {
		r.rcode = LDNS_RCODE_FORMERR;
	} else {
		question = ldns_rr_list_rr(ldns_pkt_question(qp), 0);
		r.answer = ldns_rr_list_new();
		r.extra = ldns_rr_list_new();
		rc = r.answer && r.extra ? resolve(z, question, lookup, arg, &r) : -1;
	}
	max = room(qp, tcp);
	a = rc == 0 ? build(z, qp, question, &r, max) : NULL;
	if (!a || encode(a, max, out, outlen) < 0)
		rc = -1;
	if (a)
		ldns_pkt_free(a);
	if (r.answer)
		ldns_rr_list_deep_free(r.answer);
	if (r.extra)
		ldns_rr_list_deep_free(r.extra);
	ldns_pkt_free(qp);
	return rc;
}

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

int dns_zone_init(struct dns_zone *z, const char *zone, uint32_t ttl, const char *ns_addr)
{
	char apex[300], text[1024];

	memset(z, 0, sizeof(*z));
	snprintf(apex, sizeof(apex), "%s%s", zone, zone[0] && zone[strlen(zone) - 1] == '.' ? "" : ".");
	z->apex = ldns_dname_new_frm_str(apex);
	if (!z->apex || strlen(zone) > 253 || !strcmp(apex, ".")) {
		dns_zone_free(z);
		return err_set("--zone %s is not a domain name", zone);
	}
	ldns_dname2canonical(z->apex);
	z->apex_labels = ldns_dname_label_count(z->apex);
	z->ttl = ttl;
	snprintf(text, sizeof(text), "%s %u IN SOA ns.%s hostmaster.%s 1 %d %d %d %u", apex, ttl,
		 apex, apex, SOA_REFRESH, SOA_RETRY, SOA_EXPIRE, ttl);
	z->soa = rr_from_text(text);
	snprintf(text, sizeof(text), "%s %u IN NS ns.%s", apex, ttl, apex);
	z->ns = rr_from_text(text);
	if (ns_addr) {
		snprintf(text, sizeof(text), "ns.%s %u IN %s %s", apex, ttl,
			 strchr(ns_addr, ':') ? "AAAA" : "A", ns_addr);
		z->ns_addr = rr_from_text(text);
	}
	if (!z->soa || !z->ns || (ns_addr && !z->ns_addr)) {
		dns_zone_free(z);
		return err_set("--zone %s: cannot make its SOA and NS records", zone);
	}
	return 0;
}

void dns_zone_free(struct dns_zone *z)
{
	if (z->apex)
		ldns_rdf_deep_free(z->apex);
	if (z->soa)
		ldns_rr_free(z->soa);
	if (z->ns)
		ldns_rr_free(z->ns);
	if (z->ns_addr)
		ldns_rr_free(z->ns_addr);
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
	int negative;          /* NXDOMAIN or NODATA: the SOA goes in authority */
	dns_lookup_fn lookup;  /* the SOA's serial too */
	void *arg;
};

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

static int push_clone(ldns_rr_list *l, const ldns_rr *rr)
{
	ldns_rr *c = ldns_rr_clone(rr);

	return c && ldns_rr_list_push_rr(l, c) ? 0 : -1;
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
		rc |= push_clone(r->answer, z->ns);
	r->negative = ldns_rr_list_rr_count(r->answer) == 0;
	return rc;
}

/* An address record for owner, if addr's family is the one asked for. */
static int answer_address(const struct dns_zone *z, const ldns_rdf *owner, ldns_rr_type type,
			  const char *addr, struct reply *r)
{
	int v6 = strchr(addr, ':') != NULL;
	ldns_rr_type has = v6 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A;
	ldns_rr *rr;
	ldns_rdf *rd, *own;

	if (type != has && type != LDNS_RR_TYPE_ANY) {
		r->negative = 1;
		return 0;
	}
	rd = ldns_rdf_new_frm_str(v6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, addr);
	own = ldns_rdf_clone(owner);
	rr = ldns_rr_new();
	if (!rd || !own || !rr) {
		if (rd)
			ldns_rdf_deep_free(rd);
		if (own)
			ldns_rdf_deep_free(own);
		if (rr)
			ldns_rr_free(rr);
		return -1;
	}
	ldns_rr_set_owner(rr, own);
	ldns_rr_set_type(rr, has);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(rr, z->ttl);
	ldns_rr_push_rdf(rr, rd);
	if (!ldns_rr_list_push_rr(r->answer, rr)) {
		ldns_rr_free(rr);
		return -1;
	}
	return 0;
}

/* The one label left of the apex, lowercase, if it can be an app's name. */
static int app_label(const ldns_rdf *qname, char *name)
{
	const uint8_t *d = ldns_rdf_data(qname);
	size_t n = d[0];

	if (n == 0 || n > HUB_NAME_MAX)
		return -1;
	memcpy(name, d + 1, n);
	name[n] = '\0';
	return hub_check_name("app", name);
}

/* A name under the apex: ns.ZONE or an app's. */
static int answer_name(const struct dns_zone *z, const ldns_rdf *qname, const ldns_rdf *owner,
		       ldns_rr_type type, dns_lookup_fn lookup, void *arg, struct reply *r)
{
	char name[HUB_NAME_MAX + 1], addr[HUB_ADDR_MAX];
	int found;

	if (ldns_dname_label_count(qname) != z->apex_labels + 1 || app_label(qname, name) < 0) {
		r->rcode = LDNS_RCODE_NXDOMAIN;
		r->negative = 1;
		return 0;
	}
	if (!strcmp(name, "ns")) {
		if (!z->ns_addr) {
			r->rcode = LDNS_RCODE_NXDOMAIN;
			r->negative = 1;
			return 0;
		}
		ldns_rdf *ns_rd = ldns_rr_rdf(z->ns_addr, 0);
		char *text = ldns_rdf2str(ns_rd);
		int rc = text ? answer_address(z, owner, type, text, r) : -1;

		free(text);
		return rc;
	}
	found = lookup(arg, name, addr, sizeof(addr));
	if (found < 0) {
		r->rcode = LDNS_RCODE_SERVFAIL;
		return 0;
	}
	if (found > 0) {
		r->rcode = LDNS_RCODE_NXDOMAIN;
		r->negative = 1;
		return 0;
	}
	return answer_address(z, owner, type, addr, r);
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
		rc = r.answer ? resolve(z, question, lookup, arg, &r) : -1;
	}
	max = room(qp, tcp);
	a = rc == 0 ? build(z, qp, question, &r, max) : NULL;
	if (!a || encode(a, max, out, outlen) < 0)
		rc = -1;
	if (a)
		ldns_pkt_free(a);
	if (r.answer)
		ldns_rr_list_deep_free(r.answer);
	ldns_pkt_free(qp);
	return rc;
}

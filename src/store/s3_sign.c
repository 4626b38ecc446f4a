/*
 * s3_sign.c - AWS Signature Version 4 (see s3_sign.h).
 *
 * CanonicalRequest = METHOD \n URI \n QUERY \n (name:value\n)* \n
 *                    signed;header;names \n payload-hash
 * StringToSign     = AWS4-HMAC-SHA256 \n amz-date \n scope \n hex(sha256(CR))
 * SigningKey       = HMAC chain over "AWS4"+secret: date, region, service,
 *                    "aws4_request"
 */
#include "store/s3_sign.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "common/err.h"

static const char hexdig[] = "0123456789abcdef";

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdig[in[i] >> 4];
		out[2 * i + 1] = hexdig[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void s3_sha256_hex(const void *data, size_t len, char out[S3_SHA256_HEX])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(data, len, md);
	hex_encode(md, sizeof(md), out);
}

void s3_amz_date(time_t t, char out[S3_AMZ_DATE])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, S3_AMZ_DATE, "%Y%m%dT%H%M%SZ", &tm);
}

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	       c == '~';
}

char *s3_uri_encode(const char *s, int keep_slash)
{
	size_t n = strlen(s);
	char *out = malloc(3 * n + 1), *p = out;

	if (!out) {
		err_sys("uri encode (%zu bytes)", n);
		return NULL;
	}
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (unreserved(*c) || (keep_slash && *c == '/')) {
			*p++ = (char)*c;
		} else {
			*p++ = '%';
			*p++ = "0123456789ABCDEF"[*c >> 4];
			*p++ = "0123456789ABCDEF"[*c & 15];
		}
	}
	*p = '\0';
	return out;
}

struct qpair {
	char *name;
	char *value;
};

static int qpair_cmp(const void *a, const void *b)
{
	const struct qpair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

static void qpairs_free(struct qpair *q, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(q[i].name);
		free(q[i].value);
	}
	free(q);
}

/* Join sorted pairs as name=value&name=value. */
static char *qpairs_join(const struct qpair *q, size_t n)
{
	size_t len = 1, off = 0;
	char *out;

	for (size_t i = 0; i < n; i++)
		len += strlen(q[i].name) + strlen(q[i].value) + 2;
	out = malloc(len);
	if (!out) {
		err_sys("canonical query (%zu bytes)", len);
		return NULL;
	}
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(out + off, len - off, "%s%s=%s",
					i ? "&" : "", q[i].name, q[i].value);
	return out;
}

char *s3_canonical_query(const char *const *kv, size_t n)
{
	struct qpair *q = calloc(n ? n : 1, sizeof(*q));
	char *out = NULL;

	if (!q) {
		err_sys("canonical query of %zu pairs", n);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		q[i].name = s3_uri_encode(kv[2 * i], 0);
		q[i].value = s3_uri_encode(kv[2 * i + 1] ? kv[2 * i + 1] : "", 0);
		if (!q[i].name || !q[i].value)
			goto out;
	}
	qsort(q, n, sizeof(*q), qpair_cmp);
	out = qpairs_join(q, n);
out:
	qpairs_free(q, n);
	return out;
}

static int hdr_cmp(const void *a, const void *b)
{
	return strcmp(((const struct s3_hdr *)a)->name,
		      ((const struct s3_hdr *)b)->name);
}

/* Write a header value trimmed, with inner runs of spaces collapsed. */
static void put_trimmed(FILE *f, const char *v)
{
	int space = 0;

	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			space = 1;
			continue;
		}
		if (space)
			fputc(' ', f);
		space = 0;
		fputc(*v, f);
	}
}

static void put_signed_names(FILE *f, const struct s3_sigreq *r)
{
	for (size_t i = 0; i < r->nhdrs; i++)
		fprintf(f, "%s%s", i ? ";" : "", r->hdrs[i].name);
}

char *s3_canonical_request(const struct s3_sigreq *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f) {
		err_sys("canonical request");
		return NULL;
	}
	qsort(r->hdrs, r->nhdrs, sizeof(r->hdrs[0]), hdr_cmp);
	fprintf(f, "%s\n%s\n%s\n", r->method, r->uri, r->query ? r->query : "");
	for (size_t i = 0; i < r->nhdrs; i++) {
		fprintf(f, "%s:", r->hdrs[i].name);
		put_trimmed(f, r->hdrs[i].value);
		fputc('\n', f);
	}
	fputc('\n', f);
	put_signed_names(f, r);
	fprintf(f, "\n%s", r->payload_hash);
	if (fclose(f) != 0) {
		free(text);
		err_sys("canonical request");
		return NULL;
	}
	return text;
}

static void hmac(const void *key, size_t keylen, const char *msg,
		 unsigned char out[SHA256_DIGEST_LENGTH])
{
	unsigned int n = SHA256_DIGEST_LENGTH;

	HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg,
	     strlen(msg), out, &n);
}

/* The signing key for date (YYYYMMDD), region and service. */
static void signing_key(const struct s3_sigreq *r, const char *date,
			unsigned char key[SHA256_DIGEST_LENGTH])
{
	char k0[256];
	unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];

	snprintf(k0, sizeof(k0), "AWS4%s", r->secret_key);
	hmac(k0, strlen(k0), date, a);
	hmac(a, sizeof(a), r->region, b);
	hmac(b, sizeof(b), r->service, a);
	hmac(a, sizeof(a), "aws4_request", key);
	OPENSSL_cleanse(k0, sizeof(k0));
}

int s3_sign(const struct s3_sigreq *r, char *auth, size_t cap)
{
	char date[9], scope[256], crhash[S3_SHA256_HEX], sts[512];
	char sig[S3_SHA256_HEX], names[512];
	unsigned char key[SHA256_DIGEST_LENGTH], mac[SHA256_DIGEST_LENGTH];
	char *cr = s3_canonical_request(r);
	FILE *f;

	if (!cr)
		return -1;
	if (strlen(r->amz_date) != 16) {
		free(cr);
		return err_set("sigv4: bad x-amz-date '%s'", r->amz_date);
	}
	s3_sha256_hex(cr, strlen(cr), crhash);
	free(cr);
	memcpy(date, r->amz_date, 8);
	date[8] = '\0';
	snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", date,
		 r->region, r->service);
	snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%s\n%s", r->amz_date,
		 scope, crhash);
	signing_key(r, date, key);
	hmac(key, sizeof(key), sts, mac);
	OPENSSL_cleanse(key, sizeof(key));
	hex_encode(mac, sizeof(mac), sig);
	f = fmemopen(names, sizeof(names), "w");
	if (!f)
		return err_sys("sigv4: signed headers");
	put_signed_names(f, r);
	fclose(f);
	if ((size_t)snprintf(auth, cap, "AWS4-HMAC-SHA256 Credential=%s/%s, "
			     "SignedHeaders=%s, Signature=%s", r->access_key,
			     scope, names, sig) >= cap)
		return err_set("sigv4: Authorization header too long");
	return 0;
}

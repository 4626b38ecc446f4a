/*
 * s3_sign.h - AWS Signature Version 4 for S3 requests, computed with
 * OpenSSL (no libcurl signing: it neither sends x-amz-content-sha256 nor
 * sorts the query string).
 *
 * The caller gives the canonical pieces (method, encoded path, canonical
 * query, the headers to sign, the payload hash) and gets back the value of
 * the Authorization header.
 */
#ifndef PC_STORE_S3_SIGN_H
#define PC_STORE_S3_SIGN_H

#include <stddef.h>
#include <time.h>

#define S3_SHA256_HEX 65           /* 64 hex digits and a NUL */
#define S3_AMZ_DATE 17             /* "YYYYMMDDTHHMMSSZ" and a NUL */
#define S3_AUTH_MAX 1024

/* A header to sign: name in lower case, value as sent. */
struct s3_hdr {
	const char *name;
	const char *value;
};

struct s3_sigreq {
	const char *method;        /* "GET", "PUT", ... */
	const char *uri;           /* canonical (percent-encoded) path */
	const char *query;         /* canonical query string, "" if none */
	struct s3_hdr *hdrs;       /* every header to sign, in any order; */
	size_t nhdrs;              /* sorted in place by s3_sign() */
	const char *payload_hash;  /* hex SHA-256 of the body */
	const char *amz_date;      /* same as the x-amz-date header */
	const char *region;
	const char *service;       /* "s3" */
	const char *access_key;
	const char *secret_key;
};

/* Hex SHA-256 of data. */
void s3_sha256_hex(const void *data, size_t len, char out[S3_SHA256_HEX]);
/* Format t as an x-amz-date value. */
void s3_amz_date(time_t t, char out[S3_AMZ_DATE]);
/* Percent-encode s the way SigV4 wants (unreserved characters kept, '/'
 * kept when keep_slash).  Returns a malloc'd string or NULL (err set). */
char *s3_uri_encode(const char *s, int keep_slash);
/* Canonical query from n raw name/value pairs (kv[2i], kv[2i+1]; a NULL
 * value means ""): each encoded, sorted by name then value, joined by '&'.
 * Returns a malloc'd string or NULL (err set). */
char *s3_canonical_query(const char *const *kv, size_t n);
/* The canonical request text (for debugging and tests); malloc'd. */
char *s3_canonical_request(const struct s3_sigreq *r);
/* Compute the Authorization header value into auth.  0 or -1. */
int s3_sign(const struct s3_sigreq *r, char *auth, size_t cap);

#endif

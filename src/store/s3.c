/*
 * s3.c - the S3 backend: struct backend_ops over s3_http.c.
 *
 * s3://BUCKET/PREFIX keeps key K at object PREFIX/K of BUCKET.  Conditional
 * puts use If-None-Match: * (412 means the key exists); listing uses
 * ListObjectsV2 with continuation tokens; get_many runs its ranged GETs in
 * parallel on kept-alive connections.  See docs/store-s3.md.
 */
#include "store/s3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/s3_http.h"
#include "store/s3_sign.h"

#define KEY_MAX 1024
#define GET_WINDOW 1024           /* requests prepared at once by get_many */

struct s3_be {
	struct s3_client cl;
	char *prefix;                 /* "" or "some/prefix/" */
	int bucket_seen;              /* the bucket answered a HEAD */
};

/* PREFIX + key, checked; malloc'd. */
static char *full_key(const struct s3_be *s, const char *key)
{
	char *k;

	if (!key || !*key || key[0] == '/' || strlen(key) > KEY_MAX) {
		err_set("s3: bad key '%s'", key ? key : "(null)");
		return NULL;
	}
	if (asprintf(&k, "%s%s", s->prefix, key) < 0) {
		err_sys("s3: key");
		return NULL;
	}
	return k;
}

/* Run one request on key; returns its result (0, 1 or -1). */
static int one(struct s3_be *s, struct s3_req *r, const char *key)
{
	char *k = NULL;
	int rc;

	if (key && !(k = full_key(s, key)))
		return -1;
	r->key = k;
	rc = s3_perform(&s->cl, r, 1);
	free(k);
	return rc < 0 ? -1 : r->result;
}

static int s3_put(void *be, const char *key, const void *data, size_t len,
		  int if_absent)
{
	struct s3_req r = { .method = "PUT", .body = data, .body_len = len,
			    .if_none_match = if_absent };

	return one(be, &r, key);
}

static int s3_get(void *be, const char *key, struct buf *out)
{
	struct s3_req r = { .method = "GET", .out = out };

	return one(be, &r, key);
}

/* A 404 to HEAD has no body: tell a missing key from a missing bucket. */
static int bucket_exists(struct s3_be *s)
{
	struct s3_req r = { .method = "HEAD" };
	int rc;

	if (__atomic_load_n(&s->bucket_seen, __ATOMIC_RELAXED))
		return 0;
	rc = one(s, &r, NULL);
	if (rc == 1)
		return err_set("s3: bucket '%s' does not exist (404 NoSuchBucket)",
			       s->cl.bucket);
	if (rc == 0)
		__atomic_store_n(&s->bucket_seen, 1, __ATOMIC_RELAXED);
	return rc;
}

static int s3_head(void *be, const char *key, uint64_t *size)
{
	struct s3_req r = { .method = "HEAD" };
	int rc = one(be, &r, key);

	if (rc == 0 && size)
		*size = r.size;
	if (rc == 1 && bucket_exists(be) < 0)
		return -1;
	return rc;
}

static int s3_del(void *be, const char *key)
{
	struct s3_req r = { .method = "DELETE" };
	int rc = one(be, &r, key);

	return rc == 1 ? 0 : rc;
}

/* Fill reqs from gets (one window). */
static int window_prepare(struct s3_be *s, struct backend_get *g,
			  struct s3_req *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].method = "GET";
		r[i].key = full_key(s, g[i].key);
		if (!r[i].key)
			return -1;
		r[i].off = g[i].off;
		r[i].len = g[i].len;
		if (g[i].len && g[i].dst) {
			r[i].dst = g[i].dst;
			r[i].progress = g[i].progress;
			r[i].progress_arg = g[i].progress_arg;
		} else {
			r[i].out = &g[i].out;
		}
	}
	return 0;
}

static int get_window(struct s3_be *s, struct backend_get *g, size_t n,
		      struct s3_req *r)
{
	int rc = window_prepare(s, g, r, n), ran = rc == 0;

	if (ran)
		rc = s3_perform(&s->cl, r, n);
	for (size_t i = 0; i < n; i++) {
		g[i].status = ran ? r[i].result : -1;
		free((char *)r[i].key);
		r[i].key = NULL;
	}
	return rc;
}

static int s3_get_many(void *be, struct backend_get *reqs, size_t n)
{
	struct s3_req *r = calloc(n < GET_WINDOW ? (n ? n : 1) : GET_WINDOW, sizeof(*r));
	int rc = 0;
	char first[512] = "";

	if (!r)
		return err_sys("s3: get_many of %zu requests", n);
	for (size_t i = 0; i < n; i += GET_WINDOW) {
		size_t k = n - i < GET_WINDOW ? n - i : GET_WINDOW;

		if (get_window(be, reqs + i, k, r) < 0 && rc == 0) {
			rc = -1;
			snprintf(first, sizeof(first), "%s", err_msg());
		}
	}
	free(r);
	if (rc < 0)
		err_set("%s", first);
	return rc;
}

/* One ListObjectsV2 page; *token is replaced by the next one (or NULL). */
static int list_page(struct s3_be *s, const char *pfx, char **token,
		     backend_list_cb cb, void *arg)
{
	const char *kv[] = { "list-type", "2", "prefix", pfx,
			     "continuation-token", *token };
	struct buf body = { 0 };
	struct s3_list_page page = { 0 };
	struct s3_req r = { .method = "GET", .out = &body };
	char label[KEY_MAX + 200];
	int rc;

	snprintf(label, sizeof(label), "LIST s3://%s/%s", s->cl.bucket, pfx);
	r.label = label;
	r.query = s3_canonical_query(kv, *token ? 3 : 2);
	if (!r.query)
		return -1;
	rc = s3_perform(&s->cl, &r, 1);
	free((char *)r.query);
	if (rc == 0 && r.result == 0)
		rc = s3_parse_list((const char *)body.data, body.len, s->prefix, cb,
				   arg, &page);
	else if (rc == 0)
		rc = err_set("s3 list s3://%s/%s: 404", s->cl.bucket, pfx);
	buf_free(&body);
	free(*token);
	*token = rc == 0 ? page.next_token : NULL;
	if (rc != 0)
		free(page.next_token);
	return rc;
}

static int s3_list(void *be, const char *prefix, backend_list_cb cb, void *arg)
{
	struct s3_be *s = be;
	char *token = NULL, *pfx;
	int rc;

	if (asprintf(&pfx, "%s%s", s->prefix, prefix ? prefix : "") < 0)
		return err_sys("s3: list prefix");
	do {
		rc = list_page(s, pfx, &token, cb, arg);
	} while (rc == 0 && token);
	free(token);
	free(pfx);
	return rc;
}

static void s3_close(void *be)
{
	struct s3_be *s = be;

	if (!s)
		return;
	s3_client_fini(&s->cl);
	free(s->prefix);
	free(s);
}

static const struct backend_ops s3_ops = {
	.scheme = "s3",
	.put = s3_put,
	.get = s3_get,
	.get_many = s3_get_many,
	.head = s3_head,
	.list = s3_list,
	.del = s3_del,
	.close = s3_close,
};

/* AWS rules, as radosgw enforces them by default. */
static int bucket_check(const char *b)
{
	size_t n = strlen(b);

	if (n < 3 || n > 63)
		return err_set("s3: bad bucket name '%s': want 3 to 63 characters", b);
	for (size_t i = 0; i < n; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') ||
		      b[i] == '.' || b[i] == '-'))
			return err_set("s3: bad bucket name '%s': want a-z, 0-9, '.', '-'", b);
	return 0;
}

/* "/a/b/" -> "a/b/"; "" stays "". */
static char *norm_prefix(const char *p)
{
	size_t n;
	char *out;

	while (p && *p == '/')
		p++;
	n = p ? strlen(p) : 0;
	while (n > 0 && p[n - 1] == '/')
		n--;
	if (asprintf(&out, "%.*s%s", (int)n, n ? p : "", n ? "/" : "") < 0) {
		err_sys("s3: prefix");
		return NULL;
	}
	return out;
}

int backend_s3_open(const char *bucket, const char *prefix, struct backend *out)
{
	struct s3_be *s;

	if (bucket_check(bucket) < 0)
		return -1;
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_sys("s3: backend");
	s->prefix = norm_prefix(prefix);
	if (!s->prefix) {
		free(s);
		return -1;
	}
	if (s3_client_init(&s->cl, bucket) < 0) {
		free(s->prefix);
		free(s);
		return -1;
	}
	out->ops = &s3_ops;
	out->be = s;
	return 0;
}

int s3_create_bucket(const char *bucket)
{
	struct s3_client cl;
	struct s3_req r = { .method = "PUT" };
	char *body = NULL;
	int rc;

	if (bucket_check(bucket) < 0 || s3_client_init(&cl, bucket) < 0)
		return -1;
	if (strcmp(cl.conf.region, "us-east-1") &&
	    asprintf(&body, "<CreateBucketConfiguration><LocationConstraint>%s"
		     "</LocationConstraint></CreateBucketConfiguration>",
		     cl.conf.region) > 0) {
		r.body = body;
		r.body_len = strlen(body);
	}
	rc = s3_perform(&cl, &r, 1);
	if (rc < 0 && r.status == 409 && strstr(r.msg, "BucketAlreadyOwnedByYou")) {
		err_clear();
		rc = 1;
	}
	free(body);
	s3_client_fini(&cl);
	return rc;
}

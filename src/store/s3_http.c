/*
 * s3_http.c - S3 requests over libcurl (see s3_http.h).
 *
 * A client keeps a pool of contexts, each a curl multi handle with its
 * easy handles; a batch borrows one context, so its connections are kept
 * alive for the next batch and threads never share a handle.  Requests are
 * signed with SigV4 at each attempt (s3_sign.c) and addressed path-style:
 * ENDPOINT/BUCKET/KEY.
 */
#include "store/s3_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "store/curl_lib.h"
#include "store/s3.h"
#include "store/s3_sign.h"

#define EBODY_MAX 2048
#define BACKOFF_BASE_MS 100.0
#define BACKOFF_MAX_MS 5000.0

enum { RQ_TODO, RQ_ACTIVE, RQ_WAIT, RQ_DONE };
enum { OUT_OK, OUT_ABSENT, OUT_RETRY, OUT_FAIL };

struct s3_xfer {
	CURL *easy;
	struct s3_req *req;           /* NULL: slot free */
	struct curl_slist *hdrs;
	char *url;
	char errbuf[CURL_ERROR_SIZE];
	char ebody[EBODY_MAX];        /* body of a non-2xx response */
	size_t elen;
};

struct s3_ctx {
	CURLM *multi;
	struct s3_xfer x[S3_MAX_PARALLEL];
	unsigned seed;                /* backoff jitter */
	struct s3_ctx *next;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_rc;

static const struct curl_lib *libcurl;   /* set once by curl_init() */

static void curl_init(void)
{
	libcurl = curl_lib();
	curl_init_rc = libcurl && libcurl->global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int s3_client_init(struct s3_client *c, const char *bucket)
{
	memset(c, 0, sizeof(*c));
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc < 0)
		return libcurl ? err_set("s3: libcurl initialisation failed") : -1;
	c->bucket = strdup(bucket);
	if (!c->bucket)
		return err_sys("s3: bucket name");
	if (s3_conf_load(&c->conf) < 0) {
		free(c->bucket);
		return -1;
	}
	pthread_mutex_init(&c->lock, NULL);
	return 0;
}

static void ctx_free(struct s3_ctx *ctx)
{
	for (int i = 0; i < S3_MAX_PARALLEL; i++)
		if (ctx->x[i].easy)
			libcurl->easy_cleanup(ctx->x[i].easy);
	libcurl->multi_cleanup(ctx->multi);
	free(ctx);
}

void s3_client_fini(struct s3_client *c)
{
	while (c->idle) {
		struct s3_ctx *ctx = c->idle;

		c->idle = ctx->next;
		ctx_free(ctx);
	}
	pthread_mutex_destroy(&c->lock);
	s3_conf_free(&c->conf);
	free(c->bucket);
}

static struct s3_ctx *ctx_get(struct s3_client *c)
{
	struct s3_ctx *ctx;

	pthread_mutex_lock(&c->lock);
	ctx = c->idle;
	if (ctx)
		c->idle = ctx->next;
	pthread_mutex_unlock(&c->lock);
	if (ctx)
		return ctx;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		err_sys("s3: connection context");
		return NULL;
	}
	ctx->multi = libcurl->multi_init();
	if (!ctx->multi) {
		free(ctx);
		err_set("s3: curl_multi_init failed");
		return NULL;
	}
	libcurl->multi_setopt(ctx->multi, CURLMOPT_MAXCONNECTS, (long)S3_MAX_PARALLEL);
	ctx->seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)ctx;
	return ctx;
}

static void ctx_put(struct s3_client *c, struct s3_ctx *ctx)
{
	pthread_mutex_lock(&c->lock);
	ctx->next = c->idle;
	c->idle = ctx;
	pthread_mutex_unlock(&c->lock);
}

/* r->msg = formatted text (cut to fit). */
static void setmsg(struct s3_req *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void setmsg(struct s3_req *r, const char *fmt, ...)
{
	char tmp[sizeof(r->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	memcpy(r->msg, tmp, sizeof(tmp));
}

/* "s3 GET s3://bucket/key" for messages. */
static void describe(const struct s3_client *c, const struct s3_req *r,
		     char *out, size_t cap)
{
	if (r->label) {
		snprintf(out, cap, "s3 %s", r->label);
		return;
	}
	snprintf(out, cap, "s3 %s s3://%s%s%s", r->method, c->bucket,
		 r->key ? "/" : "", r->key ? r->key : "");
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct s3_xfer *x = arg;
	struct s3_req *r = x->req;
	size_t n = size * nmemb;
	long code = 0;

	libcurl->easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code >= 300) {
		size_t k = n < EBODY_MAX - 1 - x->elen ? n : EBODY_MAX - 1 - x->elen;

		memcpy(x->ebody + x->elen, p, k);
		x->elen += k;
		x->ebody[x->elen] = '\0';
		return n;
	}
	if (r->dst) {
		if (r->got + n > r->len) {
			setmsg(r, "more than the %llu bytes asked for",
				 (unsigned long long)r->len);
			return 0;
		}
		memcpy(r->dst + r->got, p, n);
		if (r->progress)
			r->progress(r->progress_arg, r->got + n);
	} else if (r->out) {
		if (buf_append(r->out, p, n) < 0) {
			setmsg(r, "%s", err_msg());
			return 0;
		}
	}
	r->got += n;
	return n;
}

/* The URL and canonical URI of a request (malloc'd). */
static int build_paths(const struct s3_client *c, const struct s3_req *r,
		       char **url, char **uri)
{
	char *ekey = s3_uri_encode(r->key ? r->key : "", 1);
	char *ebkt = s3_uri_encode(c->bucket, 0);
	int rc = -1;

	*url = *uri = NULL;
	if (!ekey || !ebkt)
		goto out;
	if (asprintf(uri, "/%s%s%s", ebkt, r->key ? "/" : "", ekey) < 0) {
		*uri = NULL;
		err_sys("s3: uri");
		goto out;
	}
	if (asprintf(url, "%s%s%s%s", c->conf.endpoint, *uri,
		     r->query && *r->query ? "?" : "",
		     r->query ? r->query : "") < 0) {
		*url = NULL;
		err_sys("s3: url");
		goto out;
	}
	rc = 0;
out:
	free(ekey);
	free(ebkt);
	if (rc < 0) {
		free(*uri);
		*uri = NULL;
	}
	return rc;
}

/* Sign the request and build its header list into x->hdrs. */
static int build_headers(const struct s3_client *c, struct s3_req *r,
			 struct s3_xfer *x, const char *uri)
{
	struct s3_hdr h[8];
	size_t n = 0;
	char date[S3_AMZ_DATE], range[64], auth[S3_AUTH_MAX], line[S3_AUTH_MAX + 64];
	struct s3_sigreq sr = {
		.method = r->method, .uri = uri, .query = r->query ? r->query : "",
		.hdrs = h, .payload_hash = r->payload_hash, .amz_date = date,
		.region = c->conf.region, .service = "s3",
		.access_key = c->conf.access_key, .secret_key = c->conf.secret_key,
	};

	s3_amz_date(time(NULL), date);
	h[n++] = (struct s3_hdr){ "host", c->conf.host };
	h[n++] = (struct s3_hdr){ "x-amz-content-sha256", r->payload_hash };
	h[n++] = (struct s3_hdr){ "x-amz-date", date };
	if (r->len) {
		snprintf(range, sizeof(range), "bytes=%llu-%llu",
			 (unsigned long long)r->off,
			 (unsigned long long)(r->off + r->len - 1));
		h[n++] = (struct s3_hdr){ "range", range };
	}
	if (r->if_none_match)
		h[n++] = (struct s3_hdr){ "if-none-match", "*" };
	if (c->conf.session_token)
		h[n++] = (struct s3_hdr){ "x-amz-security-token", c->conf.session_token };
	sr.nhdrs = n;
	if (s3_sign(&sr, auth, sizeof(auth)) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "%s: %s", h[i].name, h[i].value);
		x->hdrs = libcurl->slist_append(x->hdrs, line);
	}
	snprintf(line, sizeof(line), "Authorization: %s", auth);
	x->hdrs = libcurl->slist_append(x->hdrs, line);
	x->hdrs = libcurl->slist_append(x->hdrs, "Expect:");
	x->hdrs = libcurl->slist_append(x->hdrs, "Accept:");
	if (!strcmp(r->method, "PUT"))
		x->hdrs = libcurl->slist_append(x->hdrs, "Content-Type: application/octet-stream");
	if (!x->hdrs)
		return err_set("s3: out of memory for headers");
	return 0;
}

static void set_method(CURL *e, const struct s3_req *r)
{
	if (!strcmp(r->method, "HEAD")) {
		libcurl->easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(r->method, "PUT")) {
		libcurl->easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
		libcurl->easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		libcurl->easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
	} else if (strcmp(r->method, "GET")) {
		libcurl->easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	} else {
		libcurl->easy_setopt(e, CURLOPT_HTTPGET, 1L);
	}
}

static void set_options(const struct s3_client *c, struct s3_xfer *x)
{
	CURL *e = x->easy;

	libcurl->easy_reset(e);
	libcurl->easy_setopt(e, CURLOPT_URL, x->url);
	libcurl->easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
	libcurl->easy_setopt(e, CURLOPT_PRIVATE, x);
	libcurl->easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	libcurl->easy_setopt(e, CURLOPT_WRITEDATA, x);
	libcurl->easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	libcurl->easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	libcurl->easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
	libcurl->easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	libcurl->easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	libcurl->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	libcurl->easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->conf.connect_timeout_ms);
	libcurl->easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, c->conf.low_speed_limit);
	libcurl->easy_setopt(e, CURLOPT_LOW_SPEED_TIME, c->conf.low_speed_time_s);
	set_method(e, x->req);
}

static void xfer_clear(struct s3_xfer *x)
{
	libcurl->slist_free_all(x->hdrs);
	x->hdrs = NULL;
	free(x->url);
	x->url = NULL;
	x->req = NULL;
}

static int xfer_start(struct s3_client *c, struct s3_ctx *ctx,
		      struct s3_xfer *x, struct s3_req *r)
{
	char *uri = NULL;
	int rc = -1;

	if (!x->easy && !(x->easy = libcurl->easy_init()))
		return err_set("s3: curl_easy_init failed");
	x->req = r;
	x->errbuf[0] = '\0';
	x->elen = 0;
	x->ebody[0] = '\0';
	r->got = 0;
	r->msg[0] = '\0';
	if (r->out)
		r->out->len = 0;
	if (build_paths(c, r, &x->url, &uri) < 0 ||
	    build_headers(c, r, x, uri) < 0)
		goto out;
	set_options(c, x);
	if (libcurl->multi_add_handle(ctx->multi, x->easy) != CURLM_OK) {
		err_set("s3: curl_multi_add_handle failed");
		goto out;
	}
	r->tries++;
	r->state = RQ_ACTIVE;
	rc = 0;
out:
	free(uri);
	if (rc < 0)
		xfer_clear(x);
	return rc;
}

static const char *status_code_name(long st)
{
	switch (st) {
	case 400: return "BadRequest";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 409: return "Conflict";
	case 412: return "PreconditionFailed";
	case 416: return "InvalidRange";
	case 429: return "TooManyRequests";
	case 500: return "InternalError";
	case 503: return "ServiceUnavailable";
	default: return "Error";
	}
}

static const char *hint(const char *code)
{
	if (!strcmp(code, "SignatureDoesNotMatch"))
		return " (check AWS_SECRET_ACCESS_KEY)";
	if (!strcmp(code, "InvalidAccessKeyId"))
		return " (check AWS_ACCESS_KEY_ID)";
	if (!strcmp(code, "Forbidden"))
		return " (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)";
	if (!strcmp(code, "AccessDenied"))
		return " (check the credentials and the bucket's policy)";
	if (!strcmp(code, "RequestTimeTooSkewed"))
		return " (check the system clock)";
	if (!strcmp(code, "AuthorizationHeaderMalformed"))
		return " (check AWS_REGION)";
	return "";
}

/* Outcome of a finished HTTP exchange. */
static int classify_http(const struct s3_client *c, struct s3_xfer *x)
{
	struct s3_req *r = x->req;
	char code[128], message[256], what[400];
	long st = r->status;

	if (st >= 200 && st < 300)
		return OUT_OK;
	s3_xml_field(x->ebody, x->elen, "Code", code, sizeof(code));
	s3_xml_field(x->ebody, x->elen, "Message", message, sizeof(message));
	if (!code[0])
		snprintf(code, sizeof(code), "%s", status_code_name(st));
	if (st == 404 && !strcmp(code, "NoSuchBucket")) {
		snprintf(r->msg, sizeof(r->msg),
			 "s3: bucket '%s' does not exist (404 NoSuchBucket)", c->bucket);
		return OUT_FAIL;
	}
	if ((st == 404 && (!strcmp(code, "NoSuchKey") || !strcmp(code, "NotFound"))) ||
	    (st == 412 && r->if_none_match))
		return OUT_ABSENT;
	describe(c, r, what, sizeof(what));
	setmsg(r, "%s: %ld %s%s%s%s", what, st, code,
		 hint(code), message[0] && !hint(code)[0] ? ": " : "",
		 hint(code)[0] ? "" : message);
	if (st >= 500 || st == 429 || !strcmp(code, "RequestTimeout") ||
	    !strcmp(code, "SlowDown"))
		return OUT_RETRY;
	return OUT_FAIL;
}

/* Outcome of a transfer that failed below HTTP. */
static int classify_curl(const struct s3_client *c, struct s3_xfer *x, CURLcode rc)
{
	struct s3_req *r = x->req;
	char what[400];
	long oserr = 0;

	libcurl->easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &oserr);
	describe(c, r, what, sizeof(what));
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		setmsg(r, "s3: cannot connect to %s: %s",
			 c->conf.endpoint, oserr ? strerror((int)oserr) : x->errbuf);
		return OUT_RETRY;
	case CURLE_COULDNT_RESOLVE_HOST:
		setmsg(r, "s3: cannot resolve the host of %s",
			 c->conf.endpoint);
		return OUT_FAIL;
	case CURLE_OPERATION_TIMEDOUT:
		if (!strstr(x->errbuf, "onnect"))
			snprintf(r->msg, sizeof(r->msg),
				 "%s: timed out (under %ld bytes/s for %ld s)", what,
				 c->conf.low_speed_limit, c->conf.low_speed_time_s);
		else
			snprintf(r->msg, sizeof(r->msg),
				 "s3: cannot connect to %s: timed out after %ld ms",
				 c->conf.endpoint, c->conf.connect_timeout_ms);
		return OUT_RETRY;
	case CURLE_WRITE_ERROR:
		if (r->msg[0]) {
			setmsg(r, "%s: %s", what, r->msg);
			return OUT_FAIL;
		}
		break;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		setmsg(r, "%s: connection to %s lost: %s",
			 what, c->conf.endpoint,
			 x->errbuf[0] ? x->errbuf : libcurl->easy_strerror(rc));
		return OUT_RETRY;
	default:
		break;
	}
	setmsg(r, "%s: %s", what,
		 x->errbuf[0] ? x->errbuf : libcurl->easy_strerror(rc));
	return OUT_FAIL;
}

/* Check a successful body against what was asked for. */
static int check_body(const struct s3_client *c, struct s3_req *r)
{
	char what[400];

	if (!r->dst || r->got == r->len)
		return OUT_OK;
	describe(c, r, what, sizeof(what));
	setmsg(r, "%s: range %llu+%llu: got %zu bytes", what,
		 (unsigned long long)r->off, (unsigned long long)r->len, r->got);
	return OUT_FAIL;
}

static double backoff_ms(struct s3_ctx *ctx, int tries)
{
	double d = BACKOFF_BASE_MS;

	for (int i = 1; i < tries && d < BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > BACKOFF_MAX_MS)
		d = BACKOFF_MAX_MS;
	/* jitter: uniformly in [d/2, d) */
	return d / 2 + (double)(rand_r(&ctx->seed) % 1000) * d / 2000.0;
}

/* A transfer ended: decide the request's fate.  Returns 1 if it is done. */
static int xfer_finish(struct s3_client *c, struct s3_ctx *ctx,
		       struct s3_xfer *x, CURLcode rc)
{
	struct s3_req *r = x->req;
	curl_off_t cl = -1;
	int out;

	r->status = 0;
	libcurl->easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r->status);
	libcurl->multi_remove_handle(ctx->multi, x->easy);
	if (rc == CURLE_OK)
		out = classify_http(c, x);
	else
		out = classify_curl(c, x, rc);
	if (out == OUT_OK) {
		libcurl->easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		r->size = cl >= 0 ? (uint64_t)cl : r->got;
		out = check_body(c, r);
	}
	xfer_clear(x);
	if (out == OUT_RETRY && r->tries < c->conf.tries) {
		r->state = RQ_WAIT;
		r->not_before = now_ms() + backoff_ms(ctx, r->tries);
		return 0;
	}
	if (out == OUT_RETRY && r->tries > 1) {
		size_t l = strlen(r->msg);

		snprintf(r->msg + l, sizeof(r->msg) - l, " (gave up after %d tries)",
			 r->tries);
	}
	r->result = out == OUT_OK ? 0 : out == OUT_ABSENT ? 1 : -1;
	r->state = RQ_DONE;
	return 1;
}

struct batch {
	struct s3_client *c;
	struct s3_ctx *ctx;
	struct s3_req *reqs;
	size_t n, next, done, nwait;
	int active, par;
};

/* The next request that may start now, or NULL. */
static struct s3_req *pick(struct batch *b, double now)
{
	if (b->nwait)
		for (size_t i = 0; i < b->n; i++)
			if (b->reqs[i].state == RQ_WAIT && b->reqs[i].not_before <= now) {
				b->nwait--;
				return &b->reqs[i];
			}
	if (b->next < b->n)
		return &b->reqs[b->next++];
	return NULL;
}

static void fill_slots(struct batch *b)
{
	double now = now_ms();
	struct s3_req *r;

	for (int i = 0; i < b->par && b->active < b->par; i++) {
		if (b->ctx->x[i].req)
			continue;
		r = pick(b, now);
		if (!r)
			return;
		if (xfer_start(b->c, b->ctx, &b->ctx->x[i], r) < 0) {
			setmsg(r, "%s", err_msg());
			r->result = -1;
			r->state = RQ_DONE;
			b->done++;
			continue;
		}
		b->active++;
	}
}

static void drain(struct batch *b)
{
	CURLMsg *m;
	int left;

	while ((m = libcurl->multi_info_read(b->ctx->multi, &left))) {
		struct s3_xfer *x = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		libcurl->easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		b->active--;
		if (xfer_finish(b->c, b->ctx, x, m->data.result))
			b->done++;
		else
			b->nwait++;
	}
}

/* How long to sleep in poll: until the earliest retry is due. */
static int poll_timeout(const struct batch *b)
{
	double t = 1000, now = now_ms();

	if (b->nwait && b->active < b->par)
		for (size_t i = 0; i < b->n; i++)
			if (b->reqs[i].state == RQ_WAIT && b->reqs[i].not_before - now < t)
				t = b->reqs[i].not_before - now;
	return t < 0 ? 0 : (int)t + 1;
}

static void run_batch(struct batch *b)
{
	int running;

	while (b->done < b->n) {
		fill_slots(b);
		libcurl->multi_perform(b->ctx->multi, &running);
		drain(b);
		if (b->done >= b->n)
			break;
		if (b->active < b->par && b->next < b->n)
			continue;       /* slots freed: start the next ones now */
		libcurl->multi_poll(b->ctx->multi, NULL, 0, poll_timeout(b), NULL);
	}
}

static void prepare(struct s3_req *r)
{
	r->state = RQ_TODO;
	r->tries = 0;
	r->result = -1;
	r->status = 0;
	r->size = 0;
	r->msg[0] = '\0';
	s3_sha256_hex(r->body ? r->body : "", r->body ? r->body_len : 0,
		      r->payload_hash);
}

int s3_perform(struct s3_client *c, struct s3_req *reqs, size_t n)
{
	struct batch b = { .c = c, .reqs = reqs, .n = n };

	for (size_t i = 0; i < n; i++)
		prepare(&reqs[i]);
	b.par = c->conf.parallel < S3_MAX_PARALLEL ? c->conf.parallel : S3_MAX_PARALLEL;
	if (b.par < 1)
		b.par = 1;
	b.ctx = ctx_get(c);
	if (!b.ctx)
		return -1;
	run_batch(&b);
	ctx_put(c, b.ctx);
	for (size_t i = 0; i < n; i++)
		if (reqs[i].result < 0)
			return err_set("%s", reqs[i].msg);
	return 0;
}

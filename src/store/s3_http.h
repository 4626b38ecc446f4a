/*
 * s3_http.h - S3 requests over libcurl: configuration, signing, parallel
 * transfers on kept-alive connections, retries with backoff.
 *
 * s3_perform() runs a batch of requests with up to conf.parallel transfers
 * at once on a curl multi handle taken from the client's pool (so its
 * connections stay open for the next batch).  Each request ends with
 * result 0 (2xx), 1 (404 NoSuchKey / 412 for If-None-Match) or -1 with a
 * one-line message in msg.  5xx, 429 and connection errors are retried
 * (conf.tries attempts in all, exponential backoff with jitter).
 */
#ifndef PC_STORE_S3_HTTP_H
#define PC_STORE_S3_HTTP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "store/backend.h"

#define S3_MAX_PARALLEL 64

struct s3_conf {
	char endpoint[256];       /* scheme://host[:port], no trailing '/' */
	char host[256];           /* the Host header: host[:port] */
	char region[64];
	char access_key[256];
	char secret_key[256];
	char *session_token;      /* x-amz-security-token, or NULL */
	long connect_timeout_ms;
	long low_speed_limit;     /* bytes/s ...                          */
	long low_speed_time_s;    /* ... below which for this long = timeout */
	int tries;
	int parallel;
	char source[300];         /* where the settings came from */
};

/* Defaults, then the config file, then the environment. */
int s3_conf_load(struct s3_conf *c);
/* The same with the config file's text given: text[0..len) (NULL: no
 * file), called source in messages.  Fails, *c released, when a setting or
 * the result is invalid. */
int s3_conf_parse(struct s3_conf *c, const char *text, size_t len,
		  const char *source);
void s3_conf_free(struct s3_conf *c);

struct s3_ctx;

struct s3_client {
	struct s3_conf conf;
	char *bucket;
	pthread_mutex_t lock;
	struct s3_ctx *idle;      /* pool of multi handles not in use */
};

int s3_client_init(struct s3_client *c, const char *bucket);
void s3_client_fini(struct s3_client *c);

struct s3_req {
	/* request */
	const char *method;       /* GET PUT HEAD DELETE */
	const char *key;          /* full object key; NULL: the bucket */
	const char *query;        /* canonical query string, or NULL */
	const void *body;         /* PUT body */
	size_t body_len;
	int if_none_match;        /* PUT only if absent */
	uint64_t off, len;        /* Range when len > 0 */
	uint8_t *dst;             /* ranged GET: exactly len bytes here */
	void (*progress)(void *arg, uint64_t got);   /* with dst: bytes in so far */
	void *progress_arg;
	struct buf *out;          /* or: whole body appended here */
	const char *label;        /* for messages instead of "METHOD s3://b/key" */
	/* response */
	long status;
	uint64_t size;            /* Content-Length of a 2xx response */
	int result;
	char msg[512];
	/* private to s3_http.c */
	int state, tries;
	double not_before;
	size_t got;
	char payload_hash[65];
};

/* Run n requests; returns -1 if any ended with result -1 (err set to the
 * first such message), else 0. */
int s3_perform(struct s3_client *c, struct s3_req *reqs, size_t n);

#endif

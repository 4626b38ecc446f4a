/*
 * u-s3retry.c - the S3 backend against a scripted fake server: retries
 * with backoff on 503 SlowDown / 500 / 429 and on a dropped connection, no
 * retry on 4xx, 412 for If-None-Match, the signed headers on the wire, and
 * one-line messages.  Real servers do not fail on demand; this one does.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "store/backend.h"

#define MAXREQ 16

/* What the server answers to request i: status and body, or drop the
 * connection in the middle of the body (status < 0). */
struct answer {
	int status;
	const char *body;
};

static struct {
	pthread_mutex_t lock;
	const struct answer *script;
	int nscript, nreq;
	double when[MAXREQ];
	char head[MAXREQ][2048];
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int failures;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void check(int ok, const char *what)
{
	printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", what, ok ? "" : ": ",
	       ok ? "" : err_msg());
	failures += !ok;
}

/* Read one request's head and body; returns its index or -1. */
static int read_request(int fd)
{
	char buf[65536];
	size_t len = 0;
	char *end = NULL, *cl;
	long body = 0;
	ssize_t n;
	int i;

	while (!end) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	cl = strcasestr(buf, "\ncontent-length:");
	if (cl && cl < end)
		body = strtol(cl + 16, NULL, 10);
	for (long left = body - (long)(len - (size_t)(end + 4 - buf)); left > 0; left -= n)
		if ((n = read(fd, buf, sizeof(buf) < (size_t)left ? sizeof(buf) : (size_t)left)) <= 0)
			return -1;
	pthread_mutex_lock(&srv.lock);
	i = srv.nreq++;
	if (i < MAXREQ) {
		srv.when[i] = now();
		snprintf(srv.head[i], sizeof(srv.head[i]), "%.*s", (int)(end - buf), buf);
	}
	pthread_mutex_unlock(&srv.lock);
	return i;
}

static void *conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg, i;
	char out[4096];

	while ((i = read_request(fd)) >= 0) {
		const struct answer *a = &srv.script[i < srv.nscript ? i : srv.nscript - 1];
		size_t blen = strlen(a->body);
		int n;

		n = snprintf(out, sizeof(out), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n"
			     "Content-Type: application/xml\r\n\r\n%s",
			     a->status < 0 ? 206 : a->status, blen + (a->status < 0 ? 100 : 0),
			     a->body);
		if (write(fd, out, (size_t)n) != n || a->status < 0)
			break;
	}
	close(fd);
	return NULL;
}

static void *accept_main(void *arg)
{
	int lfd = (int)(intptr_t)arg, fd;
	pthread_t t;

	while ((fd = accept(lfd, NULL, NULL)) >= 0) {
		pthread_create(&t, NULL, conn_main, (void *)(intptr_t)fd);
		pthread_detach(t);
	}
	return NULL;
}

static int start_server(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	pthread_t t;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 16) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("fake server");
		exit(1);
	}
	pthread_create(&t, NULL, accept_main, (void *)(intptr_t)fd);
	return ntohs(a.sin_port);
}

static void script(const struct answer *a, int n)
{
	pthread_mutex_lock(&srv.lock);
	srv.script = a;
	srv.nscript = n;
	srv.nreq = 0;
	pthread_mutex_unlock(&srv.lock);
}

#define ERRXML(code) "<?xml version=\"1.0\"?><Error><Code>" code "</Code>" \
	"<Message>scripted " code "</Message></Error>"

static void test_retry_then_ok(struct backend *b)
{
	static const struct answer a[] = {
		{ 503, ERRXML("SlowDown") }, { 500, ERRXML("InternalError") },
		{ 200, "payload" },
	};
	struct buf out = { 0 };
	int rc;

	script(a, 3);
	rc = b->ops->get(b->be, "k", &out);
	check(rc == 0 && out.len == 7 && !memcmp(out.data, "payload", 7),
	      "503 then 500 then 200: the get succeeds");
	check(srv.nreq == 3, "three requests sent");
	check(srv.when[1] - srv.when[0] >= 0.045 && srv.when[2] - srv.when[1] >= 0.095,
	      "backoff: >= 50 ms, then >= 100 ms between tries");
	buf_free(&out);
}

static void test_give_up(struct backend *b)
{
	static const struct answer a[] = { { 503, ERRXML("SlowDown") } };
	struct buf out = { 0 };
	int rc;

	script(a, 1);
	rc = b->ops->get(b->be, "k", &out);
	check(rc < 0 && srv.nreq == 3, "503 every time: fails after 3 tries");
	check(strstr(err_msg(), "s3 GET s3://fakebucket/pre/k: 503 SlowDown: scripted SlowDown "
		      "(gave up after 3 tries)") != NULL && !strchr(err_msg(), '\n'),
	      "one-line message");
	printf("     message: %s\n", err_msg());
	buf_free(&out);
}

static void test_no_retry_4xx(struct backend *b)
{
	static const struct answer a[] = { { 403, ERRXML("AccessDenied") } };
	uint64_t size;
	int rc;

	script(a, 1);
	rc = b->ops->put(b->be, "k", "x", 1, 0);
	check(rc < 0 && srv.nreq == 1, "403: no retry");
	check(strstr(err_msg(), "403 AccessDenied (check the credentials") != NULL,
	      "403 message names the cause");
	printf("     message: %s\n", err_msg());
	script(a, 1);
	rc = b->ops->head(b->be, "k", &size);
	check(rc < 0 && srv.nreq == 1, "403 to HEAD: no retry");
}

static void test_if_none_match(struct backend *b)
{
	static const struct answer a[] = { { 412, ERRXML("PreconditionFailed") } };
	int rc;

	script(a, 1);
	rc = b->ops->put(b->be, "k", "data", 4, 1);
	check(rc == 1 && srv.nreq == 1, "412 to If-None-Match: returns 1");
	check(strcasestr(srv.head[0], "\nif-none-match: *") != NULL,
	      "If-None-Match: * sent");
	check(strstr(srv.head[0], "SignedHeaders=host;if-none-match;x-amz-content-sha256;"
		     "x-amz-date,") != NULL, "if-none-match is signed");
	/* sha256("data") */
	check(strstr(srv.head[0], "x-amz-content-sha256: 3a6eb0790f39ac87c94f3856b2dd2c5d"
		     "110e6811602261a9a923d3bb23adc8b7") != NULL, "payload hash sent");
	check(strncmp(srv.head[0], "PUT /fakebucket/pre/k HTTP/1.1", 30) == 0,
	      "path-style URL with the prefix");
}

static void test_dropped_and_429(struct backend *b)
{
	static const struct answer a[] = {
		{ -1, "01" }, { 429, ERRXML("TooManyRequests") }, { 206, "0123" },
	};
	struct backend_get g = { .key = "obj", .off = 10, .len = 4 };
	uint8_t dst[4];
	int rc;

	g.dst = dst;
	script(a, 3);
	rc = b->ops->get_many(b->be, &g, 1);
	check(rc == 0 && g.status == 0 && !memcmp(dst, "0123", 4),
	      "dropped connection, then 429, then 206: the ranged get succeeds");
	check(srv.nreq == 3 && strcasestr(srv.head[2], "\nrange: bytes=10-13") != NULL,
	      "range header on every try");
}

static void test_short_range(struct backend *b)
{
	static const struct answer a[] = { { 206, "01" } };
	struct backend_get g = { .key = "obj", .off = 0, .len = 4 };
	uint8_t dst[4];
	int rc;

	g.dst = dst;
	script(a, 1);
	rc = b->ops->get_many(b->be, &g, 1);
	check(rc < 0 && g.status < 0 && strstr(err_msg(), "got 2 bytes"),
	      "a short range is an error");
}

int main(void)
{
	char url[64];
	struct backend b;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", start_server());
	setenv("AWS_ENDPOINT_URL", url, 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
	setenv("AWS_REGION", "us-east-1", 1);
	setenv("PICOCENTER_S3_CONFIG", "/dev/null", 1);
	if (backend_s3_open("fakebucket", "/pre/", &b) < 0) {
		printf("FAIL open: %s\n", err_msg());
		return 1;
	}
	test_retry_then_ok(&b);
	test_give_up(&b);
	test_no_retry_4xx(&b);
	test_if_none_match(&b);
	test_dropped_and_429(&b);
	test_short_range(&b);
	b.ops->close(b.be);
	printf("%s\n", failures ? "FAILED" : "all passed");
	return failures ? 1 : 0;
}

/*
 * keepalive - hold one HTTP/1.1 keep-alive connection open, idle, and send
 * a request on it whenever asked, to show that an established connection
 * survives a dump/restore of the server.
 *
 *   keepalive PORT PATH EXPECT CTLFIFO
 *
 * Connects to 127.0.0.1:PORT, prints "CONN LOCALPORT", sends request 0 and
 * prints "RESP 0" when it got status 200 with body EXPECT.  Then reads
 * lines from CTLFIFO: "req N" sends GET PATH on the same connection and
 * prints "RESP N" (or "FAIL N: reason", after which it exits 1); "quit"
 * exits 0.  The connection is never reopened: a server that closed or
 * reset it is a failure.  Output is line-buffered.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define IO_MS 5000

static int sock;
static const char *path, *expect;

static int request(int n)
{
	char req[1024], buf[65536];
	size_t len = 0;
	char *hend, *cl;
	long clen;
	ssize_t r;
	struct pollfd p = { .fd = sock, .events = POLLIN };

	snprintf(req, sizeof(req),
		 "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n", path);
	if (send(sock, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		printf("FAIL %d: send: %s\n", n, strerror(errno));
		return -1;
	}
	for (;;) {
		buf[len] = '\0';
		hend = strstr(buf, "\r\n\r\n");
		if (hend) {
			cl = strcasestr(buf, "\r\nContent-Length:");
			if (!cl || cl > hend) {
				printf("FAIL %d: no Content-Length in '%.60s'\n", n, buf);
				return -1;
			}
			clen = strtol(cl + 17, NULL, 10);
			if ((size_t)(hend + 4 - buf) + (size_t)clen <= len)
				break;
		}
		if (len + 1 >= sizeof(buf)) {
			printf("FAIL %d: response too long\n", n);
			return -1;
		}
		if (poll(&p, 1, IO_MS) <= 0) {
			printf("FAIL %d: no response within %d ms\n", n, IO_MS);
			return -1;
		}
		r = recv(sock, buf + len, sizeof(buf) - 1 - len, 0);
		if (r == 0) {
			printf("FAIL %d: server closed the connection (after %zu bytes)\n", n, len);
			return -1;
		}
		if (r < 0) {
			printf("FAIL %d: recv: %s\n", n, strerror(errno));
			return -1;
		}
		len += (size_t)r;
	}
	if (strncmp(buf, "HTTP/1.1 200", 12)) {
		printf("FAIL %d: status line '%.40s'\n", n, buf);
		return -1;
	}
	hend += 4;
	if ((size_t)clen != strlen(expect) || memcmp(hend, expect, (size_t)clen)) {
		printf("FAIL %d: body '%.*s', expected '%s'\n", n, (int)(clen > 60 ? 60 : clen),
		       hend, expect);
		return -1;
	}
	if ((size_t)(hend - buf) + (size_t)clen != len) {
		printf("FAIL %d: %zu extra bytes after the response\n", n,
		       len - (size_t)(hend - buf) - (size_t)clen);
		return -1;
	}
	printf("RESP %d\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	char line[256];
	FILE *ctl;
	int fd, n, one = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: keepalive PORT PATH EXPECT CTLFIFO\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	path = argv[2];
	expect = argv[3];
	a.sin_port = htons((uint16_t)atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&a, sizeof(a)) < 0) {
		printf("FAIL 0: connect: %s\n", strerror(errno));
		return 1;
	}
	setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	getsockname(sock, (struct sockaddr *)&a, &al);
	printf("CONN %d\n", ntohs(a.sin_port));
	if (request(0) < 0)
		return 1;
	/* O_RDWR: the FIFO never reports EOF between writers. */
	fd = open(argv[4], O_RDWR | O_CLOEXEC);
	if (fd < 0 || !(ctl = fdopen(fd, "r"))) {
		printf("FAIL 0: open %s: %s\n", argv[4], strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), ctl)) {
		if (!strncmp(line, "quit", 4))
			return 0;
		if (sscanf(line, "req %d", &n) != 1) {
			printf("FAIL ?: bad command '%s'\n", line);
			return 1;
		}
		if (request(n) < 0)
			return 1;
	}
	return 0;
}

/*
 * dclient - a tiny client for the daemons the tests and bench/daemons.sh
 * drive: one request, checked, with an optional retry loop, so that the
 * time to the first correct answer can be measured without the start-up
 * cost of curl, redis-cli or dig.
 *
 *   dclient [-w MS] [-i US] [-t MS] [-T] PROTO PORT ARGS...
 *
 *   http  PORT PATH EXPECT        GET PATH (Connection: close); status 200
 *                                 and a body equal to EXPECT
 *   redis PORT get KEY EXPECT|-   GET KEY; EXPECT the value, or - for nil
 *   redis PORT set KEY VALUE      SET KEY VALUE; +OK
 *   redis PORT ping               PING; +PONG
 *   mc    PORT set KEY VALUE      memcached text protocol set; STORED
 *   mc    PORT get KEY [EXPECT|-] get; EXPECT the value, - for a miss;
 *                                 without EXPECT the value is printed
 *   banner PORT EXPECT            connect and read the server's first line
 *                                 (SMTP, IMAP); it must contain EXPECT
 *   dns   PORT NAME EXPECT|- [tcp]
 *                                 A query over UDP (or TCP); EXPECT one of
 *                                 the IPv4 addresses answered, - NXDOMAIN
 *
 * All on 127.0.0.1.  -w MS: retry (every -i US, default 200) until a
 * correct answer or MS milliseconds have passed (default: one try).
 * -t MS: I/O timeout of one try (default 2000).  -T: print the
 * CLOCK_REALTIME in microseconds at which the correct answer arrived.
 * Exit 0 on a correct answer, 1 otherwise (the reason on stderr), 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int io_ms = 2000;
static char why[512];

static void reason(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
}

static int64_t now_us(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int64_t left;
	int r;

	for (;;) {
		left = (deadline - now_us(CLOCK_MONOTONIC)) / 1000;
		if (left <= 0) {
			reason("timeout");
			return -1;
		}
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR) {
			reason("poll: %s", strerror(errno));
			return -1;
		}
	}
}

/* A non-blocking socket connected to 127.0.0.1:port. */
static int dial(int type, int port, int64_t deadline)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd, e = 0, one = 1;
	socklen_t el = sizeof(e);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		reason("socket: %s", strerror(errno));
		return -1;
	}
	if (type == SOCK_STREAM)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		reason("connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (wait_fd(fd, POLLOUT, deadline) < 0)
		goto fail;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
	if (e) {
		reason("connect: %s", strerror(e));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static int send_all(int fd, const void *buf, size_t len, int64_t deadline)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT, deadline) < 0)
				return -1;
			continue;
		}
		if (n < 0) {
			reason("send: %s", strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Read into buf (appending at *len) until done(buf, len) says the reply is
 * complete (> 0), it is malformed (< 0) or EOF.  Returns 1 complete, 0 EOF,
 * -1 error.
 */
typedef int (*done_fn)(const char *buf, size_t len);

static int recv_until(int fd, char *buf, size_t cap, size_t *len, done_fn done,
		      int64_t deadline)
{
	ssize_t n;
	int d;

	for (;;) {
		if (done && *len) {
			d = done(buf, *len);
			if (d > 0)
				return 1;
			if (d < 0) {
				reason("malformed reply");
				return -1;
			}
		}
		if (*len + 1 >= cap) {
			reason("reply too long");
			return -1;
		}
		n = recv(fd, buf + *len, cap - 1 - *len, 0);
		if (n > 0) {
			*len += (size_t)n;
			buf[*len] = '\0';
			continue;
		}
		if (n == 0)
			return 0;
		if (errno == EAGAIN || errno == EINTR) {
			if (wait_fd(fd, POLLIN, deadline) < 0)
				return -1;
			continue;
		}
		reason("recv: %s", strerror(errno));
		return -1;
	}
}

static char rbuf[1 << 20];

/* ---- HTTP ---- */

static int try_http(int port, char **av, int ac, int64_t deadline)
{
	char req[2048];
	size_t len = 0;
	char *body;
	int fd, r;

	if (ac != 2)
		return 2;
	snprintf(req, sizeof(req),
		 "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", av[0]);
	fd = dial(SOCK_STREAM, port, deadline);
	if (fd < 0)
		return 1;
	r = send_all(fd, req, strlen(req), deadline);
	if (r == 0)
		r = recv_until(fd, rbuf, sizeof(rbuf), &len, NULL, deadline);
	close(fd);
	if (r < 0)
		return 1;
	rbuf[len] = '\0';
	if (strncmp(rbuf, "HTTP/1.", 7) || strncmp(rbuf + 8, " 200", 4)) {
		reason("status line '%.40s'", rbuf);
		return 1;
	}
	body = strstr(rbuf, "\r\n\r\n");
	if (!body) {
		reason("no end of headers");
		return 1;
	}
	body += 4;
	if (strcmp(body, av[1])) {
		reason("body '%.60s', expected '%.60s'", body, av[1]);
		return 1;
	}
	return 0;
}

/* ---- a greeting line (SMTP, IMAP) ---- */

static int line_done(const char *b, size_t len)
{
	return memchr(b, '\n', len) ? 1 : 0;
}

static int try_banner(int port, char **av, int ac, int64_t deadline)
{
	size_t len = 0;
	char *nl;
	int fd, r;

	if (ac != 1)
		return 2;
	fd = dial(SOCK_STREAM, port, deadline);
	if (fd < 0)
		return 1;
	r = recv_until(fd, rbuf, sizeof(rbuf), &len, line_done, deadline);
	close(fd);
	if (r <= 0) {
		if (r == 0)
			reason("closed before a greeting");
		return 1;
	}
	rbuf[len] = '\0';
	nl = strchr(rbuf, '\n');
	if (nl)
		*nl = '\0';
	if (!strstr(rbuf, av[0])) {
		reason("greeting '%.80s' lacks '%.60s'", rbuf, av[0]);
		return 1;
	}
	return 0;
}

/* ---- redis (RESP) ---- */

static int resp_done(const char *b, size_t len)
{
	const char *nl = memchr(b, '\n', len);
	long n;

	if (!nl)
		return 0;
	if (b[0] == '+' || b[0] == '-' || b[0] == ':')
		return 1;
	if (b[0] != '$')
		return -1;
	n = strtol(b + 1, NULL, 10);
	if (n < 0)
		return 1;
	return (size_t)(nl + 1 - b) + (size_t)n + 2 <= len;
}

static int try_redis(int port, char **av, int ac, int64_t deadline)
{
	char req[4096];
	size_t len = 0;
	int fd, r;

	if (ac >= 1 && !strcmp(av[0], "ping") && ac == 1)
		snprintf(req, sizeof(req), "*1\r\n$4\r\nPING\r\n");
	else if (ac == 3 && !strcmp(av[0], "get"))
		snprintf(req, sizeof(req), "*2\r\n$3\r\nGET\r\n$%zu\r\n%s\r\n", strlen(av[1]), av[1]);
	else if (ac == 3 && !strcmp(av[0], "set"))
		snprintf(req, sizeof(req), "*3\r\n$3\r\nSET\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n",
			 strlen(av[1]), av[1], strlen(av[2]), av[2]);
	else
		return 2;
	fd = dial(SOCK_STREAM, port, deadline);
	if (fd < 0)
		return 1;
	r = send_all(fd, req, strlen(req), deadline);
	if (r == 0)
		r = recv_until(fd, rbuf, sizeof(rbuf), &len, resp_done, deadline);
	close(fd);
	if (r <= 0) {
		if (r == 0)
			reason("connection closed before a reply");
		return 1;
	}
	rbuf[len] = '\0';
	if (!strcmp(av[0], "ping") || !strcmp(av[0], "set")) {
		const char *want = av[0][0] == 'p' ? "+PONG\r\n" : "+OK\r\n";

		if (strcmp(rbuf, want)) {
			reason("reply '%.60s'", rbuf);
			return 1;
		}
		return 0;
	}
	if (!strcmp(av[2], "-")) {
		if (strcmp(rbuf, "$-1\r\n")) {
			reason("reply '%.60s', expected nil", rbuf);
			return 1;
		}
		return 0;
	}
	{
		const char *v = strchr(rbuf, '\n');
		size_t vl = strlen(av[2]);

		if (rbuf[0] != '$' || strtol(rbuf + 1, NULL, 10) != (long)vl ||
		    memcmp(v + 1, av[2], vl)) {
			reason("reply '%.60s', expected '%.60s'", rbuf, av[2]);
			return 1;
		}
	}
	return 0;
}

/* ---- memcached text protocol ---- */

static int mc_done(const char *b, size_t len)
{
	if (len >= 5 && !memcmp(b + len - 5, "END\r\n", 5))
		return 1;
	if (memchr(b, '\n', len) && strncmp(b, "VALUE", 5))
		return 1;  /* STORED, ERROR, ... */
	return 0;
}

static int try_mc(int port, char **av, int ac, int64_t deadline)
{
	char req[4096];
	size_t len = 0;
	int fd, r;

	if (ac == 3 && !strcmp(av[0], "set"))
		snprintf(req, sizeof(req), "set %s 0 0 %zu\r\n%s\r\n", av[1], strlen(av[2]), av[2]);
	else if ((ac == 2 || ac == 3) && !strcmp(av[0], "get"))
		snprintf(req, sizeof(req), "get %s\r\n", av[1]);
	else
		return 2;
	fd = dial(SOCK_STREAM, port, deadline);
	if (fd < 0)
		return 1;
	r = send_all(fd, req, strlen(req), deadline);
	if (r == 0)
		r = recv_until(fd, rbuf, sizeof(rbuf), &len, mc_done, deadline);
	close(fd);
	if (r <= 0) {
		if (r == 0)
			reason("connection closed before a reply");
		return 1;
	}
	rbuf[len] = '\0';
	if (!strcmp(av[0], "set")) {
		if (strcmp(rbuf, "STORED\r\n")) {
			reason("reply '%.60s'", rbuf);
			return 1;
		}
		return 0;
	}
	if (!strcmp(rbuf, "END\r\n")) {
		if (ac == 3 && !strcmp(av[2], "-"))
			return 0;
		reason("miss for key %s", av[1]);
		return 1;
	}
	{
		char key[256];
		unsigned flags;
		size_t n;
		int off = 0;
		const char *v;

		if (sscanf(rbuf, "VALUE %255s %u %zu\r\n%n", key, &flags, &n, &off) != 3 ||
		    !off || strcmp(key, av[1]) || (size_t)off + n + 7 != len ||
		    strcmp(rbuf + off + n, "\r\nEND\r\n")) {
			reason("reply '%.60s'", rbuf);
			return 1;
		}
		v = rbuf + off;
		if (ac == 2) {
			fwrite(v, 1, n, stdout);
			putchar('\n');
			return 0;
		}
		if (n != strlen(av[2]) || memcmp(v, av[2], n)) {
			reason("value '%.*s', expected '%.60s'", (int)(n > 60 ? 60 : n), v, av[2]);
			return 1;
		}
	}
	return 0;
}

/* ---- DNS ---- */

static size_t dns_skip_name(const unsigned char *m, size_t len, size_t off)
{
	while (off < len) {
		if (m[off] == 0)
			return off + 1;
		if ((m[off] & 0xc0) == 0xc0)
			return off + 2;
		off += (size_t)m[off] + 1;
	}
	return len + 1;
}

static int dns_check(const unsigned char *m, size_t len, uint16_t id, const char *expect)
{
	unsigned qd, an, rcode, i;
	size_t off = 12;
	char got[256] = "";

	if (len < 12 || (m[0] << 8 | m[1]) != id || !(m[2] & 0x80)) {
		reason("not the reply to our query");
		return 1;
	}
	rcode = m[3] & 0x0f;
	qd = (unsigned)(m[4] << 8 | m[5]);
	an = (unsigned)(m[6] << 8 | m[7]);
	if (!strcmp(expect, "-")) {
		if (rcode == 3)
			return 0;
		reason("rcode %u with %u answers, expected NXDOMAIN", rcode, an);
		return 1;
	}
	if (rcode != 0) {
		reason("rcode %u", rcode);
		return 1;
	}
	for (i = 0; i < qd; i++)
		off = dns_skip_name(m, len, off) + 4;
	for (i = 0; i < an && off < len; i++) {
		unsigned type, rdlen;

		off = dns_skip_name(m, len, off);
		if (off + 10 > len)
			break;
		type = (unsigned)(m[off] << 8 | m[off + 1]);
		rdlen = (unsigned)(m[off + 8] << 8 | m[off + 9]);
		off += 10;
		if (off + rdlen > len)
			break;
		if (type == 1 && rdlen == 4) {
			char ip[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, m + off, ip, sizeof(ip));
			if (!strcmp(ip, expect))
				return 0;
			snprintf(got + strlen(got), sizeof(got) - strlen(got), " %s", ip);
		}
		off += rdlen;
	}
	reason("answers [%s ], expected %s", got, expect);
	return 1;
}

static int try_dns(int port, char **av, int ac, int64_t deadline)
{
	unsigned char q[600], r[65536 + 2];
	const char *name, *lab;
	size_t ql = 12, rl = 0;
	uint16_t id = (uint16_t)(now_us(CLOCK_MONOTONIC) ^ getpid());
	int tcp, fd, rc;
	ssize_t n;

	if (ac != 2 && !(ac == 3 && !strcmp(av[2], "tcp")))
		return 2;
	name = av[0];
	tcp = ac == 3;
	memset(q, 0, sizeof(q));
	q[0] = (unsigned char)(id >> 8);
	q[1] = (unsigned char)id;
	q[2] = 0x01;  /* RD */
	q[5] = 1;     /* QDCOUNT */
	for (lab = name; *lab;) {
		const char *dot = strchr(lab, '.');
		size_t l = dot ? (size_t)(dot - lab) : strlen(lab);

		if (l == 0 || l > 63 || ql + l + 6 > 512)
			return 2;
		q[ql++] = (unsigned char)l;
		memcpy(q + ql, lab, l);
		ql += l;
		lab += l + (dot ? 1 : 0);
	}
	q[ql++] = 0;
	q[ql++] = 0;
	q[ql++] = 1;  /* A */
	q[ql++] = 0;
	q[ql++] = 1;  /* IN */
	fd = dial(tcp ? SOCK_STREAM : SOCK_DGRAM, port, deadline);
	if (fd < 0)
		return 1;
	if (tcp) {
		unsigned char hdr[2] = { (unsigned char)(ql >> 8), (unsigned char)ql };
		size_t need;

		if (send_all(fd, hdr, 2, deadline) < 0 || send_all(fd, q, ql, deadline) < 0)
			goto fail;
		for (;;) {
			need = rl >= 2 ? (size_t)(r[0] << 8 | r[1]) + 2 : 2;
			if (rl >= need && rl >= 2)
				break;
			n = recv(fd, r + rl, need - rl, 0);
			if (n > 0) {
				rl += (size_t)n;
				continue;
			}
			if (n == 0) {
				reason("connection closed before a reply");
				goto fail;
			}
			if ((errno != EAGAIN && errno != EINTR)) {
				reason("recv: %s", strerror(errno));
				goto fail;
			}
			if (wait_fd(fd, POLLIN, deadline) < 0)
				goto fail;
		}
		rc = dns_check(r + 2, rl - 2, id, av[1]);
	} else {
		if (send(fd, q, ql, 0) < 0) {
			reason("send: %s", strerror(errno));
			goto fail;
		}
		for (;;) {
			n = recv(fd, r, sizeof(r), 0);
			if (n >= 0)
				break;
			if (errno != EAGAIN && errno != EINTR) {
				reason("recv: %s", strerror(errno));
				goto fail;
			}
			if (wait_fd(fd, POLLIN, deadline) < 0)
				goto fail;
		}
		rc = dns_check(r, (size_t)n, id, av[1]);
	}
	close(fd);
	return rc;
fail:
	close(fd);
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: dclient [-w MS] [-i US] [-t MS] [-T] "
			"http|redis|mc|dns|banner PORT ARGS... (see the source's header)\n");
	return 2;
}

int main(int argc, char **argv)
{
	long wait_ms = 0, interval_us = 200;
	int opt, stamp = 0, port, rc, tries = 0;
	int64_t end, deadline, t;
	int (*fn)(int, char **, int, int64_t);

	while ((opt = getopt(argc, argv, "+w:i:t:T")) != -1) {
		switch (opt) {
		case 'w': wait_ms = atol(optarg); break;
		case 'i': interval_us = atol(optarg); break;
		case 't': io_ms = atoi(optarg); break;
		case 'T': stamp = 1; break;
		default: return usage();
		}
	}
	if (argc - optind < 2)
		return usage();
	if (!strcmp(argv[optind], "http"))
		fn = try_http;
	else if (!strcmp(argv[optind], "redis"))
		fn = try_redis;
	else if (!strcmp(argv[optind], "mc"))
		fn = try_mc;
	else if (!strcmp(argv[optind], "dns"))
		fn = try_dns;
	else if (!strcmp(argv[optind], "banner"))
		fn = try_banner;
	else
		return usage();
	port = atoi(argv[optind + 1]);
	if (port <= 0 || port > 65535)
		return usage();
	end = now_us(CLOCK_MONOTONIC) + wait_ms * 1000;
	for (;;) {
		t = now_us(CLOCK_MONOTONIC);
		deadline = t + (int64_t)io_ms * 1000;
		if (wait_ms && deadline > end + 1000)
			deadline = end > t ? end + 1000 : t + 1000;
		tries++;
		rc = fn(port, argv + optind + 2, argc - optind - 2, deadline);
		if (rc == 2)
			return usage();
		if (rc == 0) {
			if (stamp)
				printf("%lld\n", (long long)now_us(CLOCK_REALTIME));
			return 0;
		}
		if (now_us(CLOCK_MONOTONIC) >= end)
			break;
		usleep((useconds_t)interval_us);
	}
	fprintf(stderr, "dclient %s %d: %s (%d tries)\n", argv[optind], port, why, tries);
	return 1;
}

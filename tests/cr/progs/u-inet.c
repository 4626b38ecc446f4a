/*
 * u-inet.c - unit test of the inet socket library (cr/inet.h,
 * cr/tcp_repair.h, cr/custody.h) without any process checkpoint: a socket
 * is dumped from a dup, closed (silently, in repair mode) and rebuilt, and
 * the other end must not notice.
 *
 *   tcp4/tcp6: an established connection with data queued both ways (the
 *     peer's receive buffer full, so part of our send queue was never sent)
 *     is rebuilt; every byte arrives in order and the peer sees no reset.
 *   listen4/listen6: a listener with options comes back with the same
 *     options and backlog and accepts.
 *   udp4/udp6: bound and connected datagram sockets.
 *   custody: a listener goes to a holder, a client connects meanwhile, the
 *     listener comes back and accepts that client.
 *   busy: rebuilding a listener whose port is taken fails clearly.
 * Prints "PASS name" per case and exits non-zero on any failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/custody.h"
#include "cr/inet.h"

static int failures;

#define FAIL(...) do { fprintf(stderr, "FAIL %s: ", cur); fprintf(stderr, __VA_ARGS__); \
	fprintf(stderr, "\n"); failures++; return -1; } while (0)
#define TRY(x) do { if ((x) < 0) FAIL("%s: %s (%s)", #x, err_msg(), strerror(errno)); } while (0)

static const char *cur;

static socklen_t fill_addr(int family, struct sockaddr_storage *ss, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (void *)ss;

		s->sin_family = AF_INET;
		s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s->sin_port = htons(port);
		return sizeof(*s);
	}
	struct sockaddr_in6 *s = (void *)ss;

	s->sin6_family = AF_INET6;
	s->sin6_addr = in6addr_loopback;
	s->sin6_port = htons(port);
	return sizeof(*s);
}

static int port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	return ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
				       : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int make_listener(int family, int *port)
{
	struct sockaddr_storage ss;
	socklen_t len = fill_addr(family, &ss, 0);
	int s = socket(family, SOCK_STREAM, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&ss, len) < 0 || listen(s, 16) < 0)
		return -1;
	*port = port_of(s);
	return s;
}

static int connect_to(int family, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = fill_addr(family, &ss, (uint16_t)port);
	int s = socket(family, SOCK_STREAM, 0);

	if (s < 0 || connect(s, (struct sockaddr *)&ss, len) < 0)
		return -1;
	return s;
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + (i >> 8));
}

/* Write our pattern nonblocking until the peer's window is full. */
static size_t stuff(int fd, size_t max)
{
	static unsigned char buf[65536];
	size_t total = 0;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (total < max) {
		size_t n = max - total < sizeof(buf) ? max - total : sizeof(buf);
		ssize_t w;

		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(total + i);
		w = send(fd, buf, n, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		total += (size_t)w;
	}
	fcntl(fd, F_SETFL, 0);
	return total;
}

/* Read exactly len bytes of the pattern from fd within a few seconds. */
static int drain(int fd, size_t len)
{
	unsigned char buf[65536];
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 5000) <= 0)
			FAIL("timeout after %zu of %zu bytes", got, len);
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			FAIL("recv after %zu of %zu bytes: %zd %s", got, len, n, strerror(errno));
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern(got + (size_t)i))
				FAIL("byte %zu differs", got + (size_t)i);
		got += (size_t)n;
	}
	return 0;
}

/* as_sent: pretend the whole send queue had been sent (not acked yet), to
 * exercise the repair-mode refill of the send queue. */
static int rebuild_as(int *fd, struct cr_inet *sk, int as_sent)
{
	int d = dup(*fd);

	TRY(inet_dump(d, sk));
	close(d);
	close(*fd);     /* in repair mode: no FIN, no RST */
	if (as_sent)
		sk->tcp.p.unsent_len = 0;
	TRY(inet_open(sk, 0, fd));
	TRY(inet_finish(*fd, sk));
	inet_free(sk);
	return 0;
}

static int rebuild(int *fd, struct cr_inet *sk)
{
	return rebuild_as(fd, sk, 0);
}

static int test_tcp(int family, int as_sent)
{
	struct cr_inet sk;
	int port, small = 4096;
	int l = make_listener(family, &port), a, b;
	size_t sent, back = 3000;

	if (l < 0)
		FAIL("listener: %s", strerror(errno));
	b = socket(family, SOCK_STREAM, 0);
	/* A small receive buffer on b so that a's send queue fills up. */
	setsockopt(b, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	{
		struct sockaddr_storage ss;
		socklen_t len = fill_addr(family, &ss, (uint16_t)port);

		if (connect(b, (struct sockaddr *)&ss, len) < 0)
			FAIL("connect: %s", strerror(errno));
	}
	a = accept(l, NULL, NULL);
	close(l);
	if (a < 0)
		FAIL("accept: %s", strerror(errno));
	if (stuff(b, back) != back)   /* queued in a's receive queue */
		FAIL("could not queue %zu bytes towards a", back);
	sent = stuff(a, as_sent ? 20000 : 4u << 20);
	usleep(50000);
	TRY(rebuild_as(&a, &sk, as_sent));
	if (sk.tcp.inq_len != back || sk.tcp.outq_len == 0)
		FAIL("queues: in %u (want %zu), out %u", sk.tcp.inq_len, back, sk.tcp.outq_len);
	fprintf(stderr, "  %s: %zu bytes written, queues in %u out %u (unsent %u)\n", cur, sent,
		sk.tcp.inq_len, sk.tcp.outq_len, sk.tcp.p.unsent_len);
	if (drain(b, sent) < 0 || drain(a, back) < 0)
		return -1;
	/* And the connection still works both ways. */
	if (stuff(a, 1000) != 1000 || drain(b, 1000) < 0 || stuff(b, 1000) != 1000 ||
	    drain(a, 1000) < 0)
		FAIL("exchange after rebuild");
	close(a);
	close(b);
	return 0;
}

static int getint(int fd, int level, int opt)
{
	int v = -1;
	socklen_t len = sizeof(v);

	getsockopt(fd, level, opt, &v, &len);
	return v;
}

static int set1(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v));
}

static int test_listen(int family)
{
	struct sockaddr_storage ss;
	socklen_t len = fill_addr(family, &ss, 0);
	struct cr_inet sk;
	struct linger lg = { 1, 7 };
	int s = socket(family, SOCK_STREAM, 0), c, a, port;

	((struct sockaddr_in *)&ss)->sin_family = (sa_family_t)family;
	if (s < 0 || set1(s, SOL_SOCKET, SO_REUSEADDR, 1) < 0 ||
	    set1(s, SOL_SOCKET, SO_REUSEPORT, 1) < 0 ||
	    (family == AF_INET6 && set1(s, IPPROTO_IPV6, IPV6_V6ONLY, 1) < 0) ||
	    set1(s, IPPROTO_TCP, TCP_NODELAY, 1) < 0 || set1(s, SOL_SOCKET, SO_KEEPALIVE, 1) < 0 ||
	    set1(s, IPPROTO_TCP, TCP_KEEPIDLE, 77) < 0 || set1(s, IPPROTO_TCP, TCP_KEEPCNT, 5) < 0 ||
	    set1(s, IPPROTO_TCP, TCP_DEFER_ACCEPT, 3) < 0 ||
	    set1(s, IPPROTO_TCP, TCP_FASTOPEN, 11) < 0 || set1(s, SOL_SOCKET, SO_RCVBUF, 50000) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0 ||
	    bind(s, (struct sockaddr *)&ss, len) < 0 || listen(s, 37) < 0)
		FAIL("setup: %s", strerror(errno));
	port = port_of(s);
	int rcvbuf = getint(s, SOL_SOCKET, SO_RCVBUF), defer = getint(s, IPPROTO_TCP, TCP_DEFER_ACCEPT);

	TRY(rebuild(&s, &sk));
	if (sk.backlog != 37)
		FAIL("backlog %u, want 37", sk.backlog);
	if (port_of(s) != port || getint(s, SOL_SOCKET, SO_REUSEADDR) != 1 ||
	    getint(s, SOL_SOCKET, SO_REUSEPORT) != 1 ||
	    (family == AF_INET6 && getint(s, IPPROTO_IPV6, IPV6_V6ONLY) != 1) ||
	    getint(s, IPPROTO_TCP, TCP_NODELAY) != 1 || getint(s, SOL_SOCKET, SO_KEEPALIVE) != 1 ||
	    getint(s, IPPROTO_TCP, TCP_KEEPIDLE) != 77 || getint(s, IPPROTO_TCP, TCP_KEEPCNT) != 5 ||
	    getint(s, IPPROTO_TCP, TCP_DEFER_ACCEPT) != defer ||
	    getint(s, IPPROTO_TCP, TCP_FASTOPEN) != 11 ||
	    getint(s, SOL_SOCKET, SO_RCVBUF) != rcvbuf ||
	    getint(s, SOL_SOCKET, SO_ACCEPTCONN) != 1)
		FAIL("options differ after rebuild");
	memset(&lg, 0, sizeof(lg));
	len = sizeof(lg);
	getsockopt(s, SOL_SOCKET, SO_LINGER, &lg, &len);
	if (!lg.l_onoff || lg.l_linger != 7)
		FAIL("linger %d/%d", lg.l_onoff, lg.l_linger);
	c = connect_to(family, port);
	if (c < 0 || write(c, "x", 1) != 1)   /* deferred accept wants data */
		FAIL("connect to rebuilt listener: %s", strerror(errno));
	a = accept(s, NULL, NULL);
	if (a < 0)
		FAIL("accept: %s", strerror(errno));
	close(a);
	close(c);
	close(s);
	return 0;
}

static int test_udp(int family)
{
	struct sockaddr_storage ss;
	socklen_t len = fill_addr(family, &ss, 0);
	struct cr_inet sk;
	int srv = socket(family, SOCK_DGRAM, 0), cl = socket(family, SOCK_DGRAM, 0), sport, cport;
	char buf[16];

	if (srv < 0 || cl < 0 || bind(srv, (struct sockaddr *)&ss, len) < 0)
		FAIL("setup: %s", strerror(errno));
	sport = port_of(srv);
	len = fill_addr(family, &ss, (uint16_t)sport);
	if (connect(cl, (struct sockaddr *)&ss, len) < 0)
		FAIL("connect: %s", strerror(errno));
	cport = port_of(cl);
	TRY(rebuild(&srv, &sk));
	if (!inet_custody_kind(&sk))
		FAIL("a bound unconnected udp socket is a custody kind");
	TRY(rebuild(&cl, &sk));
	if (inet_custody_kind(&sk) || port_of(cl) != cport || port_of(srv) != sport)
		FAIL("ports or kind differ after rebuild");
	if (send(cl, "ping", 4, 0) != 4 || recv(srv, buf, sizeof(buf), 0) != 4)
		FAIL("client -> server: %s", strerror(errno));
	len = fill_addr(family, &ss, (uint16_t)cport);
	if (sendto(srv, "pong", 4, 0, (struct sockaddr *)&ss, len) != 4 ||
	    recv(cl, buf, sizeof(buf), 0) != 4 || memcmp(buf, "pong", 4))
		FAIL("server -> client: %s", strerror(errno));
	close(srv);
	close(cl);
	return 0;
}

static int test_custody(const char *dir)
{
	char path[256];
	struct custody_item it, *got;
	size_t n;
	int port, l = make_listener(AF_INET, &port), c, a, conn;
	pid_t holder;

	snprintf(path, sizeof(path), "%s/hold.sock", dir);
	holder = fork();
	if (holder == 0)
		_exit(custody_hold(path, -1) < 0 ? 1 : 0);
	for (int i = 0; i < 200 && access(path, F_OK) < 0; i++)
		usleep(5000);
	it.key = 42;
	it.fd = l;
	TRY(custody_put(path, "app-1", &it, 1));
	close(l);
	c = connect_to(AF_INET, port);   /* completes into the held backlog */
	if (c < 0 || write(c, "hi", 2) != 2)
		FAIL("connect while held: %s", strerror(errno));
	if (custody_get(path, "nope", &got, &n, &conn) == 0)
		FAIL("GET of an unknown tag succeeded");
	TRY(custody_get(path, "app-1", &got, &n, &conn));
	if (n != 1 || got[0].key != 42)
		FAIL("got %zu sockets", n);
	custody_done(conn, 1);
	a = accept(got[0].fd, NULL, NULL);
	if (a < 0 || read(a, path, 2) != 2)
		FAIL("accept the queued connection: %s", strerror(errno));
	if (custody_get(path, "app-1", &got, &n, &conn) == 0)
		FAIL("the set is still held after DONE");
	kill(holder, SIGTERM);
	waitpid(holder, NULL, 0);
	close(a);
	close(c);
	return 0;
}

static int test_busy(void)
{
	struct cr_inet sk;
	int port, l = make_listener(AF_INET, &port), d = dup(l), fd;

	TRY(inet_dump(d, &sk));
	if (inet_open(&sk, 0, &fd) == 0)
		FAIL("rebuilding a listener on a taken port succeeded");
	if (!strstr(err_msg(), "Address already in use") || !strstr(err_msg(), "listen"))
		FAIL("unclear message: %s", err_msg());
	fprintf(stderr, "  busy: %s\n", err_msg());
	close(d);
	close(l);
	return 0;
}

#define RUN(name, call) do { cur = name; if ((call) == 0) printf("PASS %s\n", name); } while (0)

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";

	signal(SIGPIPE, SIG_IGN);
	RUN("tcp4", test_tcp(AF_INET, 0));
	RUN("tcp6", test_tcp(AF_INET6, 0));
	RUN("tcp4-sent", test_tcp(AF_INET, 1));
	RUN("listen4", test_listen(AF_INET));
	RUN("listen6", test_listen(AF_INET6));
	RUN("udp4", test_udp(AF_INET));
	RUN("udp6", test_udp(AF_INET6));
	RUN("custody", test_custody(dir));
	RUN("busy", test_busy());
	printf("%d failures\n", failures);
	return failures ? 1 : 0;
}

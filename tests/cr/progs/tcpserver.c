/*
 * tcpserver.c - TCP sockets inside one tree: `tcpserver CHECK_DIR PORT4 PORT6`.
 *
 * Set up: a listener on 127.0.0.1:PORT4 and one on [::]:PORT6 (IPV6_V6ONLY),
 * each with options (SO_REUSEADDR, SO_REUSEPORT, TCP_NODELAY, SO_KEEPALIVE +
 * TCP_KEEPIDLE/INTVL/CNT, TCP_DEFER_ACCEPT, TCP_FASTOPEN, SO_RCVBUF,
 * SO_LINGER, SO_RCVTIMEO) and a backlog of 29; and a connection inside the
 * tree (a client to the v4 listener and its accepted end) with bytes queued
 * in both directions that nobody reads until the next check.
 *
 * Each check: every option reads back as set; a new connection to each
 * listener is accepted and echoes; the queued bytes arrive intact on the
 * inner connection, which then carries a round of data both ways and gets
 * new bytes queued for the next check.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include "check.h"

#define BACKLOG 29
#define QUEUED 5000

static int lst4, lst6, cli, srv;   /* listeners; inner connection's ends */
static int port4, port6;

static int set_int(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v));
}

static int get_int(int fd, int level, int opt)
{
	int v = -12345;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, level, opt, &v, &len) < 0)
		return -12345;
	return v;
}

static socklen_t addr_of(int family, int port, struct sockaddr_storage *ss, int any)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (void *)ss;

		s->sin_family = AF_INET;
		s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s->sin_port = htons((uint16_t)port);
		return sizeof(*s);
	}
	struct sockaddr_in6 *s = (void *)ss;

	s->sin6_family = AF_INET6;
	s->sin6_addr = any ? in6addr_any : in6addr_loopback;
	s->sin6_port = htons((uint16_t)port);
	return sizeof(*s);
}

static int make_listener(int family, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_of(family, port, &ss, 1);
	struct linger lg = { 1, 5 };
	struct timeval tv = { 3, 500000 };
	int s = socket(family, SOCK_STREAM, 0);

	if (s < 0 || set_int(s, SOL_SOCKET, SO_REUSEADDR, 1) < 0 ||
	    set_int(s, SOL_SOCKET, SO_REUSEPORT, 1) < 0 ||
	    (family == AF_INET6 && set_int(s, IPPROTO_IPV6, IPV6_V6ONLY, 1) < 0) ||
	    set_int(s, IPPROTO_TCP, TCP_NODELAY, 1) < 0 ||
	    set_int(s, SOL_SOCKET, SO_KEEPALIVE, 1) < 0 ||
	    set_int(s, IPPROTO_TCP, TCP_KEEPIDLE, 61) < 0 ||
	    set_int(s, IPPROTO_TCP, TCP_KEEPINTVL, 13) < 0 ||
	    set_int(s, IPPROTO_TCP, TCP_KEEPCNT, 4) < 0 ||
	    set_int(s, IPPROTO_TCP, TCP_DEFER_ACCEPT, 2) < 0 ||
	    set_int(s, IPPROTO_TCP, TCP_FASTOPEN, 8) < 0 ||
	    set_int(s, SOL_SOCKET, SO_RCVBUF, 40000) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		ck_die("listener options");
	if (bind(s, (struct sockaddr *)&ss, len) < 0 || listen(s, BACKLOG) < 0)
		ck_die("bind/listen port %d", port);
	return s;
}

static int connect_to(int family, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_of(family, port, &ss, 0);
	int s = socket(family, SOCK_STREAM, 0);

	if (s < 0 || connect(s, (struct sockaddr *)&ss, len) < 0) {
		if (s >= 0)
			close(s);
		return -1;
	}
	return s;
}

static unsigned char pat(uint32_t seed, size_t i)
{
	return (unsigned char)(seed * 31 + i * 13 + (i >> 7));
}

static int send_pat(int fd, uint32_t seed, size_t len)
{
	unsigned char buf[QUEUED];

	for (size_t i = 0; i < len; i++)
		buf[i] = pat(seed, i);
	return write(fd, buf, len) == (ssize_t)len ? 0 : -1;
}

/* Read len bytes of pattern seed from fd within 3 s. */
static int recv_pat(int fd, uint32_t seed, size_t len, const char *what)
{
	unsigned char buf[QUEUED];
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 3000) <= 0) {
			ck_fail("%s: timeout after %zu of %zu bytes", what, got, len);
			return -1;
		}
		n = read(fd, buf + got, len - got);
		if (n <= 0) {
			ck_fail("%s: read: %zd (%s)", what, n, n < 0 ? strerror(errno) : "EOF");
			return -1;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pat(seed, i)) {
			ck_fail("%s: byte %zu differs", what, i);
			return -1;
		}
	return 0;
}

static void check_options(int s, const char *name, int v6)
{
	struct linger lg = { 0, 0 };
	struct timeval tv = { 0, 0 };
	socklen_t len = sizeof(lg);

	CK(get_int(s, SOL_SOCKET, SO_ACCEPTCONN) == 1, "%s: not listening", name);
	CK(get_int(s, SOL_SOCKET, SO_REUSEADDR) == 1, "%s: SO_REUSEADDR off", name);
	CK(get_int(s, SOL_SOCKET, SO_REUSEPORT) == 1, "%s: SO_REUSEPORT off", name);
	CK(!v6 || get_int(s, IPPROTO_IPV6, IPV6_V6ONLY) == 1, "%s: IPV6_V6ONLY off", name);
	CK(get_int(s, IPPROTO_TCP, TCP_NODELAY) == 1, "%s: TCP_NODELAY off", name);
	CK(get_int(s, SOL_SOCKET, SO_KEEPALIVE) == 1, "%s: SO_KEEPALIVE off", name);
	CK(get_int(s, IPPROTO_TCP, TCP_KEEPIDLE) == 61, "%s: TCP_KEEPIDLE %d", name,
	   get_int(s, IPPROTO_TCP, TCP_KEEPIDLE));
	CK(get_int(s, IPPROTO_TCP, TCP_KEEPINTVL) == 13, "%s: TCP_KEEPINTVL", name);
	CK(get_int(s, IPPROTO_TCP, TCP_KEEPCNT) == 4, "%s: TCP_KEEPCNT", name);
	CK(get_int(s, IPPROTO_TCP, TCP_DEFER_ACCEPT) >= 2, "%s: TCP_DEFER_ACCEPT %d", name,
	   get_int(s, IPPROTO_TCP, TCP_DEFER_ACCEPT));
	CK(get_int(s, IPPROTO_TCP, TCP_FASTOPEN) == 8, "%s: TCP_FASTOPEN %d", name,
	   get_int(s, IPPROTO_TCP, TCP_FASTOPEN));
	CK(get_int(s, SOL_SOCKET, SO_RCVBUF) == 80000, "%s: SO_RCVBUF %d", name,
	   get_int(s, SOL_SOCKET, SO_RCVBUF));
	getsockopt(s, SOL_SOCKET, SO_LINGER, &lg, &len);
	CK(lg.l_onoff && lg.l_linger == 5, "%s: SO_LINGER %d/%d", name, lg.l_onoff, lg.l_linger);
	len = sizeof(tv);
	getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &len);
	CK(tv.tv_sec == 3 && tv.tv_usec == 500000, "%s: SO_RCVTIMEO %ld.%06ld", name,
	   (long)tv.tv_sec, (long)tv.tv_usec);
}

/* Connect to the listener, send (deferred accept waits for data), accept,
 * echo back. */
static void check_accepts(int lst, int family, int port, const char *name)
{
	int c = connect_to(family, port), a;

	if (c < 0) {
		ck_fail("%s: connect: %s", name, strerror(errno));
		return;
	}
	if (send_pat(c, 7, 100) < 0) {
		ck_fail("%s: send: %s", name, strerror(errno));
	} else if ((a = accept(lst, NULL, NULL)) < 0) {
		ck_fail("%s: accept: %s", name, strerror(errno));
	} else {
		if (recv_pat(a, 7, 100, name) == 0 && send_pat(a, 8, 100) == 0)
			recv_pat(c, 8, 100, name);
		close(a);
	}
	close(c);
}

/* The inner connection: bytes queued since the last check, an exchange,
 * new bytes queued. */
static void check_inner(int n)
{
	recv_pat(srv, (uint32_t)(2 * n), QUEUED, "inner client->server queue");
	recv_pat(cli, (uint32_t)(2 * n + 1), QUEUED, "inner server->client queue");
	if (send_pat(cli, 100, 10) < 0 || recv_pat(srv, 100, 10, "inner ping") < 0 ||
	    send_pat(srv, 101, 10) < 0 || recv_pat(cli, 101, 10, "inner pong") < 0)
		ck_fail("inner exchange failed");
	if (send_pat(cli, (uint32_t)(2 * n + 2), QUEUED) < 0 ||
	    send_pat(srv, (uint32_t)(2 * n + 3), QUEUED) < 0)
		ck_fail("inner: queue for the next check: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	ck_init(argc, argv);
	if (argc < 4)
		ck_die("usage: tcpserver CHECK_DIR PORT4 PORT6");
	port4 = atoi(argv[2]);
	port6 = atoi(argv[3]);
	lst4 = make_listener(AF_INET, port4);
	lst6 = make_listener(AF_INET6, port6);
	cli = socket(AF_INET, SOCK_STREAM, 0);
	{
		struct sockaddr_storage ss;
		socklen_t len = addr_of(AF_INET, port4, &ss, 0);

		if (connect(cli, (struct sockaddr *)&ss, len) < 0 || send_pat(cli, 0, QUEUED) < 0)
			ck_die("inner connect");
	}
	srv = accept(lst4, NULL, NULL);
	if (srv < 0 || send_pat(srv, 1, QUEUED) < 0)
		ck_die("inner accept");
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		check_options(lst4, "listener v4", 0);
		check_options(lst6, "listener v6", 1);
		check_accepts(lst4, AF_INET, port4, "listener v4");
		check_accepts(lst6, AF_INET6, port6, "listener v6");
		check_inner(n);
		ck_report(n);
	}
}

/*
 * acceptor.c - a tiny server for listener custody: `acceptor CHECK_DIR PORT`.
 *
 * Serves TCP on 127.0.0.1:PORT and [::1]:PORT (read one line, answer
 * "hello LINE", close) and UDP on 127.0.0.1:PORT (answer "hello DATAGRAM")
 * from one poll loop, which also answers the checks (OK while it runs).
 * Connections and datagrams that arrive while the app is checkpointed wait
 * in the held sockets and are answered after the restore.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "check.h"

static int bound(int family, int type, int port)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	int s = socket(family, type, 0), one = 1;

	a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a6.sin6_addr = in6addr_loopback;
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (family == AF_INET6 && setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0))
		ck_die("socket");
	if (family == AF_INET ? bind(s, (struct sockaddr *)&a4, sizeof(a4))
			      : bind(s, (struct sockaddr *)&a6, sizeof(a6)))
		ck_die("bind port %d", port);
	if (type == SOCK_STREAM && listen(s, 64) < 0)
		ck_die("listen");
	return s;
}

static void serve_tcp(int lst)
{
	char buf[256], out[300];
	struct pollfd p;
	ssize_t n;
	int c = accept(lst, NULL, NULL);

	if (c < 0)
		return;
	p.fd = c;
	p.events = POLLIN;
	if (poll(&p, 1, 2000) == 1 && (n = read(c, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		buf[strcspn(buf, "\r\n")] = '\0';
		n = snprintf(out, sizeof(out), "hello %s\n", buf);
		if (write(c, out, (size_t)n) < 0)
			ck_say("acceptor: write: %s", strerror(errno));
	}
	close(c);
}

static void serve_udp(int s)
{
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	char buf[256], out[300];
	ssize_t n = recvfrom(s, buf, sizeof(buf) - 1, MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
	int len;

	if (n <= 0)
		return;
	buf[n] = '\0';
	len = snprintf(out, sizeof(out), "hello %s", buf);
	sendto(s, out, (size_t)len, 0, (struct sockaddr *)&from, flen);
}

int main(int argc, char **argv)
{
	struct pollfd p[3];
	int n = 0, port;

	ck_init(argc, argv);
	if (argc < 3)
		ck_die("usage: acceptor CHECK_DIR PORT");
	port = atoi(argv[2]);
	p[0].fd = bound(AF_INET, SOCK_STREAM, port);
	p[1].fd = bound(AF_INET6, SOCK_STREAM, port);
	p[2].fd = bound(AF_INET, SOCK_DGRAM, port);
	for (int i = 0; i < 3; i++)
		p[i].events = POLLIN;
	ck_ready();
	for (;;) {
		if (poll(p, 3, 2) > 0) {
			for (int i = 0; i < 2; i++)
				if (p[i].revents & POLLIN)
					serve_tcp(p[i].fd);
			if (p[2].revents & POLLIN)
				serve_udp(p[2].fd);
		}
		if (ck_exists("go", n))
			ck_report(n++);
	}
}

/*
 * udp.c - UDP sockets, v4 and v6: `udp CHECK_DIR PORT4 PORT6`.
 *
 * Servers bound to 127.0.0.1:PORT4 and [::1]:PORT6 (IPV6_V6ONLY,
 * SO_REUSEADDR, SO_BROADCAST on v4), clients connected to them (bound
 * to ephemeral ports).  Each check: the same local ports as at set-up, the
 * options, and a datagram each way on both pairs (the server answers to the
 * address the datagram came from, which must be the client's old port).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "check.h"

struct pair {
	const char *name;
	int family, srv, cli;
	int sport, cport;
};

static int get_int(int fd, int level, int opt)
{
	int v = -1;
	socklen_t len = sizeof(v);

	getsockopt(fd, level, opt, &v, &len);
	return v;
}

static socklen_t addr_of(int family, int port, struct sockaddr_storage *ss)
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
	s->sin6_addr = in6addr_loopback;
	s->sin6_port = htons((uint16_t)port);
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

static void setup(struct pair *p, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_of(p->family, port, &ss);
	int one = 1;

	p->srv = socket(p->family, SOCK_DGRAM, 0);
	p->cli = socket(p->family, SOCK_DGRAM, 0);
	if (p->srv < 0 || p->cli < 0 ||
	    setsockopt(p->srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (p->family == AF_INET6 &&
	     setsockopt(p->srv, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    (p->family == AF_INET &&
	     setsockopt(p->srv, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0))
		ck_die("%s: sockets", p->name);
	if (bind(p->srv, (struct sockaddr *)&ss, len) < 0 ||
	    connect(p->cli, (struct sockaddr *)&ss, len) < 0)
		ck_die("%s: bind/connect port %d", p->name, port);
	p->sport = port;
	p->cport = port_of(p->cli);
}

static int wait_in(int fd)
{
	struct pollfd pf = { fd, POLLIN, 0 };

	return poll(&pf, 1, 3000) == 1 ? 0 : -1;
}

static void check_pair(struct pair *p, int n)
{
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	char msg[32], buf[64];
	ssize_t len;
	int fport;

	CK(port_of(p->srv) == p->sport && port_of(p->cli) == p->cport, "%s: ports %d/%d, want %d/%d",
	   p->name, port_of(p->srv), port_of(p->cli), p->sport, p->cport);
	CK(get_int(p->srv, SOL_SOCKET, SO_REUSEADDR) == 1, "%s: SO_REUSEADDR off", p->name);
	CK(p->family == AF_INET || get_int(p->srv, IPPROTO_IPV6, IPV6_V6ONLY) == 1,
	   "%s: IPV6_V6ONLY off", p->name);
	CK(p->family == AF_INET6 || get_int(p->srv, SOL_SOCKET, SO_BROADCAST) == 1,
	   "%s: SO_BROADCAST off", p->name);
	snprintf(msg, sizeof(msg), "ping %d", n);
	if (send(p->cli, msg, strlen(msg), 0) < 0 || wait_in(p->srv) < 0) {
		ck_fail("%s: ping: %s", p->name, strerror(errno));
		return;
	}
	len = recvfrom(p->srv, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &flen);
	buf[len > 0 ? len : 0] = '\0';
	fport = ntohs(from.ss_family == AF_INET ? ((struct sockaddr_in *)&from)->sin_port
						: ((struct sockaddr_in6 *)&from)->sin6_port);
	CK(!strcmp(buf, msg) && fport == p->cport, "%s: server got '%s' from port %d", p->name,
	   buf, fport);
	if (sendto(p->srv, "pong", 4, 0, (struct sockaddr *)&from, flen) != 4 ||
	    wait_in(p->cli) < 0 || recv(p->cli, buf, sizeof(buf), 0) != 4)
		ck_fail("%s: pong: %s", p->name, strerror(errno));
}

int main(int argc, char **argv)
{
	struct pair v4 = { .name = "udp4", .family = AF_INET };
	struct pair v6 = { .name = "udp6", .family = AF_INET6 };

	ck_init(argc, argv);
	if (argc < 4)
		ck_die("usage: udp CHECK_DIR PORT4 PORT6");
	setup(&v4, atoi(argv[2]));
	setup(&v6, atoi(argv[3]));
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		check_pair(&v4, n);
		check_pair(&v6, n);
		ck_report(n);
	}
}

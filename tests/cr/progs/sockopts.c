/*
 * sockopts.c - the socket options servers set on wildcard UDP sockets and
 * listeners, carried through dump/restore: `sockopts CHECK_DIR PORT4 PORT6`.
 *
 * A UDP server on 0.0.0.0:PORT4 and one on [::]:PORT6 (IPV6_V6ONLY), as
 * dnsmasq binds them, and a TCP listener on 127.0.0.1 (ephemeral port),
 * each with options set away from their defaults (the tables below).  Each
 * check reads every option back with getsockopt, then sends a datagram
 * from a fresh client to each UDP server over loopback and requires the
 * control messages the options ask for: the destination address
 * (IP_PKTINFO / IPV6_RECVPKTINFO: what a wildcard server answers from),
 * the TTL / hop limit and the receive timestamp.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include "check.h"

struct opt { const char *name; int level, opt, val; };

static const struct opt udp4_opts[] = {
	{ "IP_PKTINFO", IPPROTO_IP, IP_PKTINFO, 1 },
	{ "IP_RECVTTL", IPPROTO_IP, IP_RECVTTL, 1 },
	{ "IP_RECVTOS", IPPROTO_IP, IP_RECVTOS, 1 },
	{ "IP_RECVERR", IPPROTO_IP, IP_RECVERR, 1 },
	{ "IP_RECVORIGDSTADDR", IPPROTO_IP, IP_RECVORIGDSTADDR, 1 },
	{ "IP_TOS", IPPROTO_IP, IP_TOS, 0x10 },
	{ "IP_TTL", IPPROTO_IP, IP_TTL, 33 },
	{ "IP_MTU_DISCOVER", IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO },
	{ "IP_FREEBIND", IPPROTO_IP, IP_FREEBIND, 1 },
	{ "SO_TIMESTAMPNS", SOL_SOCKET, SO_TIMESTAMPNS, 1 },
	{ "SO_PRIORITY", SOL_SOCKET, SO_PRIORITY, 5 },
	{ "SO_MARK", SOL_SOCKET, SO_MARK, 0x1234 },
	{ "SO_BROADCAST", SOL_SOCKET, SO_BROADCAST, 1 },
	{ "SO_REUSEPORT", SOL_SOCKET, SO_REUSEPORT, 1 },
	{ NULL, 0, 0, 0 }
};

static const struct opt udp6_opts[] = {
	{ "IPV6_V6ONLY", IPPROTO_IPV6, IPV6_V6ONLY, 1 },
	{ "IPV6_RECVPKTINFO", IPPROTO_IPV6, IPV6_RECVPKTINFO, 1 },
	{ "IPV6_RECVHOPLIMIT", IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1 },
	{ "IPV6_RECVTCLASS", IPPROTO_IPV6, IPV6_RECVTCLASS, 1 },
	{ "IPV6_RECVERR", IPPROTO_IPV6, IPV6_RECVERR, 1 },
	{ "IPV6_TCLASS", IPPROTO_IPV6, IPV6_TCLASS, 0x20 },
	{ "IPV6_UNICAST_HOPS", IPPROTO_IPV6, IPV6_UNICAST_HOPS, 17 },
	{ "IPV6_MTU_DISCOVER", IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO },
	{ "IP_TRANSPARENT", IPPROTO_IP, IP_TRANSPARENT, 1 },
	{ "SO_TIMESTAMP", SOL_SOCKET, SO_TIMESTAMP, 1 },
	{ NULL, 0, 0, 0 }
};

static const struct opt tcp_opts[] = {
	{ "IP_TOS", IPPROTO_IP, IP_TOS, 0x08 },
	{ "IP_TTL", IPPROTO_IP, IP_TTL, 50 },
	{ "IP_FREEBIND", IPPROTO_IP, IP_FREEBIND, 1 },
	{ "IP_TRANSPARENT", IPPROTO_IP, IP_TRANSPARENT, 1 },
	{ "SO_PRIORITY", SOL_SOCKET, SO_PRIORITY, 3 },
	{ "SO_MARK", SOL_SOCKET, SO_MARK, 7 },
	{ "SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, 1 },
	{ "TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, 1 },
	{ "TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, 77 },
	{ "TCP_DEFER_ACCEPT", IPPROTO_TCP, TCP_DEFER_ACCEPT, 5 },
	{ NULL, 0, 0, 0 }
};

static void set_opts(int fd, const char *who, const struct opt *o)
{
	for (; o->name; o++)
		if (setsockopt(fd, o->level, o->opt, &o->val, sizeof(o->val)) < 0)
			ck_die("%s: setsockopt %s", who, o->name);
}

static void check_opts(int fd, const char *who, const struct opt *o)
{
	for (; o->name; o++) {
		int v = -1;
		socklen_t len = sizeof(v);

		if (getsockopt(fd, o->level, o->opt, &v, &len) < 0)
			ck_fail("%s: getsockopt %s: %s", who, o->name, strerror(errno));
		else if (o->opt == TCP_DEFER_ACCEPT ? v < o->val : v != o->val)
			ck_fail("%s: %s is %d, want %d", who, o->name, v, o->val);
	}
}

static socklen_t addr_of(int family, int loopback, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (void *)ss;

		s->sin_family = AF_INET;
		s->sin_addr.s_addr = htonl(loopback ? INADDR_LOOPBACK : INADDR_ANY);
		s->sin_port = htons((uint16_t)port);
		return sizeof(*s);
	}
	struct sockaddr_in6 *s = (void *)ss;

	s->sin6_family = AF_INET6;
	s->sin6_addr = loopback ? in6addr_loopback : in6addr_any;
	s->sin6_port = htons((uint16_t)port);
	return sizeof(*s);
}

static int wildcard_udp(int family, int port, const struct opt *o, const char *who)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_of(family, 0, port, &ss);
	int fd = socket(family, SOCK_DGRAM, 0);

	if (fd < 0)
		ck_die("%s: socket", who);
	set_opts(fd, who, o);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		ck_die("%s: bind port %d", who, port);
	return fd;
}

static int listener(void)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_of(AF_INET, 1, 0, &ss);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		ck_die("tcp: socket");
	set_opts(fd, "tcp", tcp_opts);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 8) < 0)
		ck_die("tcp: bind/listen");
	return fd;
}

/* The control messages a datagram to loopback brought: which of pktinfo,
 * ttl/hop limit, timestamp came, and the destination address. */
struct got { int pktinfo, ttl, stamp; char dst[INET6_ADDRSTRLEN]; };

static void scan_cmsgs(struct msghdr *mh, struct got *g)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			inet_ntop(AF_INET, &pi.ipi_addr, g->dst, sizeof(g->dst));
			g->pktinfo = 1;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			inet_ntop(AF_INET6, &pi.ipi6_addr, g->dst, sizeof(g->dst));
			g->pktinfo = 1;
		} else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
			   (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)) {
			g->ttl = 1;
		} else if (c->cmsg_level == SOL_SOCKET &&
			   (c->cmsg_type == SCM_TIMESTAMPNS || c->cmsg_type == SCM_TIMESTAMP)) {
			g->stamp = 1;
		}
	}
}

/* A datagram from a new client to loopback:port reaches srv with the
 * control messages its options ask for. */
static void check_recv(int srv, int family, int port, const char *who, const char *want_dst)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_of(family, 1, port, &ss);
	char buf[64], ctl[512];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };
	struct pollfd pf = { srv, POLLIN, 0 };
	struct got g = { 0, 0, 0, "" };
	int cli = socket(family, SOCK_DGRAM, 0);

	if (cli < 0 || sendto(cli, "q", 1, 0, (struct sockaddr *)&ss, len) != 1) {
		ck_fail("%s: send to port %d: %s", who, port, strerror(errno));
		if (cli >= 0)
			close(cli);
		return;
	}
	close(cli);
	if (poll(&pf, 1, 3000) != 1 || recvmsg(srv, &mh, 0) != 1) {
		ck_fail("%s: no datagram: %s", who, strerror(errno));
		return;
	}
	scan_cmsgs(&mh, &g);
	CK(g.pktinfo && !strcmp(g.dst, want_dst), "%s: destination %s, want %s (pktinfo %s)",
	   who, g.dst, want_dst, g.pktinfo ? "came" : "missing");
	CK(g.ttl, "%s: no TTL / hop limit control message", who);
	CK(g.stamp, "%s: no timestamp control message", who);
}

int main(int argc, char **argv)
{
	int u4, u6, l;

	ck_init(argc, argv);
	if (argc < 4)
		ck_die("usage: sockopts CHECK_DIR PORT4 PORT6");
	u4 = wildcard_udp(AF_INET, atoi(argv[2]), udp4_opts, "udp4");
	u6 = wildcard_udp(AF_INET6, atoi(argv[3]), udp6_opts, "udp6");
	l = listener();
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		check_opts(u4, "udp4", udp4_opts);
		check_opts(u6, "udp6", udp6_opts);
		check_opts(l, "tcp", tcp_opts);
		check_recv(u4, AF_INET, atoi(argv[2]), "udp4", "127.0.0.1");
		check_recv(u6, AF_INET6, atoi(argv[3]), "udp6", "::1");
		ck_report(n);
	}
}

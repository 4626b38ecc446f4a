/*
 * inet.c - one inet socket (TCP or UDP, IPv4 or IPv6) read from a
 * duplicate fd and built anew (see inet.h).  TCP connections go through
 * tcp_repair.c, listen backlogs through sock_diag.c.
 *
 * Socket options are driven by one table: each entry says how to read the
 * option, where it lives in struct cr_inet_opts and whether it must be set
 * before bind().  At restore an option is set only when the new socket's
 * value differs from the saved one, so defaults stay defaults.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/inet.h"
#include "cr/sock_diag.h"
#include "cr/tcp_repair.h"

#define BACKLOG_MAX 65535
#define WSCALE_MAX 14

/* ---- socket options ---- */

enum opt_how { OPT_INT, OPT_BUF, OPT_LINGER, OPT_TIMEO };

#define PRE_BIND 1     /* must be set before bind() */
#define TCP_ONLY 2
#define V6_ONLY  4
#define PRE_ONLY 8     /* cannot change after bind() (IPV6_V6ONLY) */

struct opt_desc {
	const char *name;
	int level, opt;
	enum opt_how how;
	size_t off;                    /* in struct cr_inet_opts */
	int flags;
};

#define O(f) offsetof(struct cr_inet_opts, f)
static const struct opt_desc opt_table[] = {
	{ "IPV6_V6ONLY", IPPROTO_IPV6, IPV6_V6ONLY, OPT_INT, O(v6only), PRE_BIND | PRE_ONLY | V6_ONLY },
	{ "SO_REUSEADDR", SOL_SOCKET, SO_REUSEADDR, OPT_INT, O(reuseaddr), PRE_BIND },
	{ "SO_REUSEPORT", SOL_SOCKET, SO_REUSEPORT, OPT_INT, O(reuseport), PRE_BIND },
	{ "SO_RCVBUF", SOL_SOCKET, SO_RCVBUF, OPT_BUF, O(rcvbuf), PRE_BIND },
	{ "SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, OPT_BUF, O(sndbuf), PRE_BIND },
	{ "SO_BROADCAST", SOL_SOCKET, SO_BROADCAST, OPT_INT, O(broadcast), 0 },
	{ "SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, OPT_INT, O(keepalive), 0 },
	{ "SO_LINGER", SOL_SOCKET, SO_LINGER, OPT_LINGER, O(linger_on), 0 },
	{ "SO_RCVTIMEO", SOL_SOCKET, SO_RCVTIMEO, OPT_TIMEO, O(rcvtimeo_us), 0 },
	{ "SO_SNDTIMEO", SOL_SOCKET, SO_SNDTIMEO, OPT_TIMEO, O(sndtimeo_us), 0 },
	{ "TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, OPT_INT, O(nodelay), TCP_ONLY },
	{ "TCP_CORK", IPPROTO_TCP, TCP_CORK, OPT_INT, O(cork), TCP_ONLY },
	{ "TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, OPT_INT, O(keepidle), TCP_ONLY },
	{ "TCP_KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL, OPT_INT, O(keepintvl), TCP_ONLY },
	{ "TCP_KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT, OPT_INT, O(keepcnt), TCP_ONLY },
	{ "TCP_DEFER_ACCEPT", IPPROTO_TCP, TCP_DEFER_ACCEPT, OPT_INT, O(defer_accept), TCP_ONLY },
	{ "TCP_FASTOPEN", IPPROTO_TCP, TCP_FASTOPEN, OPT_INT, O(fastopen), TCP_ONLY },
	/* IP level: an IPv6 socket has them too (its IPv4-mapped traffic) */
	{ "IP_FREEBIND", IPPROTO_IP, IP_FREEBIND, OPT_INT, O(freebind), PRE_BIND },
	{ "IP_TRANSPARENT", IPPROTO_IP, IP_TRANSPARENT, OPT_INT, O(transparent), PRE_BIND },
	{ "IP_PKTINFO", IPPROTO_IP, IP_PKTINFO, OPT_INT, O(pktinfo), 0 },
	{ "IP_RECVTTL", IPPROTO_IP, IP_RECVTTL, OPT_INT, O(recvttl), 0 },
	{ "IP_RECVTOS", IPPROTO_IP, IP_RECVTOS, OPT_INT, O(recvtos), 0 },
	{ "IP_RECVERR", IPPROTO_IP, IP_RECVERR, OPT_INT, O(recverr), 0 },
	{ "IP_RECVORIGDSTADDR", IPPROTO_IP, IP_RECVORIGDSTADDR, OPT_INT, O(origdstaddr), 0 },
	{ "IP_TOS", IPPROTO_IP, IP_TOS, OPT_INT, O(tos), 0 },
	{ "IP_TTL", IPPROTO_IP, IP_TTL, OPT_INT, O(ttl), 0 },
	{ "IP_MTU_DISCOVER", IPPROTO_IP, IP_MTU_DISCOVER, OPT_INT, O(mtu_discover), 0 },
	{ "IPV6_RECVPKTINFO", IPPROTO_IPV6, IPV6_RECVPKTINFO, OPT_INT, O(v6_recvpktinfo), V6_ONLY },
	{ "IPV6_RECVHOPLIMIT", IPPROTO_IPV6, IPV6_RECVHOPLIMIT, OPT_INT, O(v6_recvhoplimit), V6_ONLY },
	{ "IPV6_RECVTCLASS", IPPROTO_IPV6, IPV6_RECVTCLASS, OPT_INT, O(v6_recvtclass), V6_ONLY },
	{ "IPV6_RECVERR", IPPROTO_IPV6, IPV6_RECVERR, OPT_INT, O(v6_recverr), V6_ONLY },
	{ "IPV6_TCLASS", IPPROTO_IPV6, IPV6_TCLASS, OPT_INT, O(v6_tclass), V6_ONLY },
	{ "IPV6_UNICAST_HOPS", IPPROTO_IPV6, IPV6_UNICAST_HOPS, OPT_INT, O(v6_hops), V6_ONLY },
	{ "IPV6_MTU_DISCOVER", IPPROTO_IPV6, IPV6_MTU_DISCOVER, OPT_INT, O(v6_mtu_discover), V6_ONLY },
	/* SO_TIMESTAMP before SO_TIMESTAMPNS: setting the first clears the second */
	{ "SO_TIMESTAMP", SOL_SOCKET, SO_TIMESTAMP, OPT_INT, O(timestamp), 0 },
	{ "SO_TIMESTAMPNS", SOL_SOCKET, SO_TIMESTAMPNS, OPT_INT, O(timestampns), 0 },
	{ "SO_PRIORITY", SOL_SOCKET, SO_PRIORITY, OPT_INT, O(priority), 0 },
	{ "SO_MARK", SOL_SOCKET, SO_MARK, OPT_INT, O(mark), 0 },
};
#undef O
#define NR_OPTS (sizeof(opt_table) / sizeof(opt_table[0]))

static int opt_applies(const struct opt_desc *d, const struct cr_inet *sk)
{
	if ((d->flags & TCP_ONLY) && sk->type != SOCK_STREAM)
		return 0;
	if ((d->flags & V6_ONLY) && sk->family != AF_INET6)
		return 0;
	return 1;
}

static uint32_t *opt_u32(struct cr_inet_opts *o, const struct opt_desc *d)
{
	return (uint32_t *)((char *)o + d->off);
}

static uint64_t *opt_u64(struct cr_inet_opts *o, const struct opt_desc *d)
{
	return (uint64_t *)((char *)o + d->off);
}

/* Read option d of fd into o. */
static int opt_get(int fd, const struct opt_desc *d, struct cr_inet_opts *o)
{
	union { int i; struct linger l; struct timeval tv; } v;
	socklen_t len = sizeof(v);

	memset(&v, 0, sizeof(v));
	if (getsockopt(fd, d->level, d->opt, &v, &len) < 0)
		return err_sys("getsockopt %s", d->name);
	switch (d->how) {
	case OPT_INT:
	case OPT_BUF:
		*opt_u32(o, d) = (uint32_t)v.i;
		break;
	case OPT_LINGER:
		o->linger_on = (uint32_t)v.l.l_onoff;
		o->linger_secs = (uint32_t)v.l.l_linger;
		break;
	case OPT_TIMEO:
		*opt_u64(o, d) = (uint64_t)v.tv.tv_sec * 1000000 + (uint64_t)v.tv.tv_usec;
		break;
	}
	return 0;
}

static int opt_equal(const struct opt_desc *d, struct cr_inet_opts *a, struct cr_inet_opts *b)
{
	if (d->how == OPT_LINGER)
		return a->linger_on == b->linger_on && (!a->linger_on ||
						       a->linger_secs == b->linger_secs);
	if (d->how == OPT_TIMEO)
		return *opt_u64(a, d) == *opt_u64(b, d);
	return *opt_u32(a, d) == *opt_u32(b, d);
}

static int opt_set(int fd, const struct opt_desc *d, struct cr_inet_opts *o)
{
	union { int i; struct linger l; struct timeval tv; } v;
	socklen_t len = sizeof(int);
	int level = d->level, opt = d->opt;

	memset(&v, 0, sizeof(v));
	switch (d->how) {
	case OPT_INT:
		v.i = (int)*opt_u32(o, d);
		break;
	case OPT_BUF:  /* the kernel doubles what is set; FORCE passes the max */
		v.i = (int)(*opt_u32(o, d) / 2);
		opt = opt == SO_RCVBUF ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
		break;
	case OPT_LINGER:
		v.l.l_onoff = (int)o->linger_on;
		v.l.l_linger = (int)o->linger_secs;
		len = sizeof(v.l);
		break;
	case OPT_TIMEO:
		v.tv.tv_sec = (time_t)(*opt_u64(o, d) / 1000000);
		v.tv.tv_usec = (suseconds_t)(*opt_u64(o, d) % 1000000);
		len = sizeof(v.tv);
		break;
	}
	if (setsockopt(fd, level, opt, &v, len) < 0)
		return err_sys("setsockopt %s", d->name);
	return 0;
}

/* Options that change what the app sees but that the image does not carry:
 * a socket with one of them set (non-zero) fails the dump rather than come
 * back without it.  A socket filter of the app's own is refused by
 * netlock.c, which puts its own filter there during the dump. */
static const struct { const char *name; int level, opt; } opt_refused[] = {
	{ "SO_TIMESTAMPING", SOL_SOCKET, SO_TIMESTAMPING },
	{ "SO_TIMESTAMP_NEW", SOL_SOCKET, SO_TIMESTAMP_NEW },
	{ "SO_TIMESTAMPNS_NEW", SOL_SOCKET, SO_TIMESTAMPNS_NEW },
};

static int check_refused(int fd)
{
	for (size_t i = 0; i < sizeof(opt_refused) / sizeof(opt_refused[0]); i++) {
		int v = 0;
		socklen_t len = sizeof(v);

		if (getsockopt(fd, opt_refused[i].level, opt_refused[i].opt, &v, &len) < 0)
			return err_sys("getsockopt %s", opt_refused[i].name);
		if (v)
			return err_set("%s is set (%d): not carried by the image (unsupported)",
				       opt_refused[i].name, v);
	}
	return 0;
}

/* SO_BINDTODEVICE, by name: a box woken on another machine, or a network
 * namespace made again, has its interfaces under the same names but maybe
 * other indexes. */
static int read_bound_dev(int fd, struct cr_inet *sk)
{
	socklen_t len = sizeof(sk->bound_dev);

	memset(sk->bound_dev, 0, sizeof(sk->bound_dev));
	if (getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, sk->bound_dev, &len) < 0)
		return err_sys("getsockopt SO_BINDTODEVICE");
	sk->bound_dev[sizeof(sk->bound_dev) - 1] = '\0';
	return 0;
}

static int read_opts(int fd, struct cr_inet *sk)
{
	for (size_t i = 0; i < NR_OPTS; i++)
		if (opt_applies(&opt_table[i], sk) && opt_get(fd, &opt_table[i], &sk->opts) < 0)
			return -1;
	return read_bound_dev(fd, sk) < 0 ? -1 : check_refused(fd);
}

/* A rebuilt connection's buffers were grown to take its queues back
 * (tcp_repair.c); shrinking them to the app's size again would leave a
 * refilled receive queue at its limit, where the peer's next segments are
 * dropped and wait for a retransmission timeout.  The app sees the larger
 * size. */
static int keeps_room(const struct opt_desc *d, const struct cr_inet *sk, int pre,
		      struct cr_inet_opts *cur, struct cr_inet_opts *want)
{
	/* Only the receive side: a send buffer kept larger lets the app queue
	 * more before the next dump, whose restore grows it again, cycle after
	 * cycle (a paced stream's queue went past 64 MiB in 5 cycles). */
	return d->how == OPT_BUF && d->opt == SO_RCVBUF && !pre &&
	       sk->state == CR_INET_TCP_ESTABLISHED && *opt_u32(cur, d) > *opt_u32(want, d);
}

/* Set the options (only PRE_BIND ones if pre) that differ on fd. */
static int apply_opts(int fd, const struct cr_inet *sk, int pre)
{
	struct cr_inet_opts want = sk->opts, cur;

	for (size_t i = 0; i < NR_OPTS; i++) {
		const struct opt_desc *d = &opt_table[i];

		if (!opt_applies(d, sk) || (pre && !(d->flags & PRE_BIND)) ||
		    (!pre && (d->flags & PRE_ONLY)))
			continue;
		memset(&cur, 0, sizeof(cur));
		if (opt_get(fd, d, &cur) < 0)
			return -1;
		if (keeps_room(d, sk, pre, &cur, &want))
			continue;
		if (!opt_equal(d, &cur, &want) && opt_set(fd, d, &want) < 0)
			return -1;
	}
	return 0;
}

/* ---- addresses ---- */

static socklen_t addr_len(uint32_t family)
{
	return family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static void addr_from_sa(const struct sockaddr_storage *ss, struct cr_inet_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		memcpy(a->addr, &s->sin_addr, 4);
		a->port = ntohs(s->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;

		memcpy(a->addr, &s->sin6_addr, 16);
		a->port = ntohs(s->sin6_port);
		a->flowinfo = s->sin6_flowinfo;
		a->scope_id = s->sin6_scope_id;
	}
}

static void addr_to_sa(uint32_t family, const struct cr_inet_addr *a,
		       struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (void *)ss;

		s->sin_family = AF_INET;
		memcpy(&s->sin_addr, a->addr, 4);
		s->sin_port = htons(a->port);
	} else {
		struct sockaddr_in6 *s = (void *)ss;

		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, a->addr, 16);
		s->sin6_port = htons(a->port);
		s->sin6_flowinfo = a->flowinfo;
		s->sin6_scope_id = a->scope_id;
	}
}

static int addr_is_set(const struct cr_inet_addr *a)
{
	static const uint8_t zero[16];

	return a->port != 0 || memcmp(a->addr, zero, sizeof(zero)) != 0;
}

static void addr_str(uint32_t family, const struct cr_inet_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, a->addr, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "?");
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, a->port);
}

const char *inet_describe(const struct cr_inet *sk, char *buf, size_t len)
{
	static const char *const states[] = {
		[CR_INET_TCP_CLOSED] = "unconnected", [CR_INET_TCP_LISTEN] = "listen",
		[CR_INET_TCP_ESTABLISHED] = "established", [CR_INET_UDP] = "",
	};
	char l[64], p[64];
	const char *st = sk->state >= CR_INET_TCP_CLOSED && sk->state <= CR_INET_UDP
		? states[sk->state] : "?";

	addr_str(sk->family, &sk->local, l, sizeof(l));
	addr_str(sk->family, &sk->peer, p, sizeof(p));
	snprintf(buf, len, "%s%s%s%s %s%s%s%s%s", sk->type == SOCK_STREAM ? "tcp" : "udp",
		 sk->family == AF_INET6 ? "6" : "4", *st ? " " : "", st, l,
		 addr_is_set(&sk->peer) ? " -> " : "", addr_is_set(&sk->peer) ? p : "",
		 sk->bound_dev[0] ? " on " : "", sk->bound_dev);
	return buf;
}

/* ---- dump ---- */

static int sock_int(int fd, int opt, const char *name, int *v)
{
	socklen_t len = sizeof(*v);

	if (getsockopt(fd, SOL_SOCKET, opt, v, &len) < 0)
		return err_sys("getsockopt %s", name);
	return 0;
}

static int read_kind(int fd, struct cr_inet *sk)
{
	int domain, type, proto;

	if (sock_int(fd, SO_DOMAIN, "SO_DOMAIN", &domain) < 0 ||
	    sock_int(fd, SO_TYPE, "SO_TYPE", &type) < 0 ||
	    sock_int(fd, SO_PROTOCOL, "SO_PROTOCOL", &proto) < 0)
		return -1;
	if (domain != AF_INET && domain != AF_INET6)
		return err_set("socket family %d is not inet", domain);
	if (!(type == SOCK_STREAM && proto == IPPROTO_TCP) &&
	    !(type == SOCK_DGRAM && proto == IPPROTO_UDP))
		return err_set("unsupported inet socket (type %d, protocol %d)", type, proto);
	sk->family = (uint32_t)domain;
	sk->type = (uint32_t)type;
	return 0;
}

static int read_addrs(int fd, struct cr_inet *sk)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return err_sys("getsockname");
	addr_from_sa(&ss, &sk->local);
	len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
		if (errno != ENOTCONN)
			return err_sys("getpeername");
		return 0;
	}
	addr_from_sa(&ss, &sk->peer);
	return 0;
}

static const char *tcp_state_name(unsigned state)
{
	static const char *const names[] = {
		"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
		"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
		"NEW_SYN_RECV",
	};

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}

static int read_tcp_state(int fd, struct cr_inet *sk)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	struct stat st;

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return err_sys("getsockopt TCP_INFO");
	switch (ti.tcpi_state) {
	case TCP_CLOSE:
		sk->state = CR_INET_TCP_CLOSED;
		return 0;
	case TCP_LISTEN:
		sk->state = CR_INET_TCP_LISTEN;
		if (fstat(fd, &st) < 0)
			return err_sys("fstat");
		return sock_diag_tcp_backlog((int)sk->family, st.st_ino, &sk->backlog);
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
	case TCP_LAST_ACK:
	case TCP_CLOSING:
		/* closing states too: tcp_repair.c leaves the FINs out */
		sk->state = CR_INET_TCP_ESTABLISHED;
		return tcp_repair_dump(fd, &sk->tcp);
	default:
		/* Opening or closing: it usually settles within milliseconds. */
		err_set("TCP state %s (opening or closing) is not supported",
			tcp_state_name(ti.tcpi_state));
		return err_mark_transient();
	}
}

void inet_dump_undo(int fd, const struct cr_inet *sk)
{
	if (sk->state == CR_INET_TCP_ESTABLISHED)
		tcp_repair_set(fd, 0);
	err_clear();
}

int inet_dump(int fd, struct cr_inet *sk)
{
	char what[160];

	memset(sk, 0, sizeof(*sk));
	if (read_kind(fd, sk) < 0 || read_addrs(fd, sk) < 0 || read_opts(fd, sk) < 0)
		return -1;
	if (sk->type == SOCK_DGRAM) {
		sk->state = CR_INET_UDP;
		return 0;
	}
	if (read_tcp_state(fd, sk) < 0) {
		struct err_saved e;

		err_save(&e);
		inet_dump_undo(fd, sk);
		inet_free(sk);
		err_restore(&e);
		return err_wrap("%s", inet_describe(sk, what, sizeof(what)));
	}
	return 0;
}

int inet_custody_kind(const struct cr_inet *sk)
{
	return sk->state == CR_INET_TCP_LISTEN || sk->state == CR_INET_TCP_ESTABLISHED ||
	       (sk->state == CR_INET_UDP && sk->local.port && !addr_is_set(&sk->peer));
}

/* ---- restore ---- */

static int bind_local(int fd, const struct cr_inet *sk)
{
	struct sockaddr_storage ss;

	if (!sk->local.port)
		return 0;   /* never bound (an address alone needs a port) */
	addr_to_sa(sk->family, &sk->local, &ss);
	if (bind(fd, (struct sockaddr *)&ss, addr_len(sk->family)) < 0)
		return err_sys("bind");
	return 0;
}

static int open_established(int fd, const struct cr_inet *sk)
{
	struct sockaddr_storage l, p;

	addr_to_sa(sk->family, &sk->local, &l);
	addr_to_sa(sk->family, &sk->peer, &p);
	return tcp_repair_restore(fd, &sk->tcp, (struct sockaddr *)&l, (struct sockaddr *)&p,
				  addr_len(sk->family));
}

static int open_state(int fd, const struct cr_inet *sk)
{
	struct sockaddr_storage p;

	switch (sk->state) {
	case CR_INET_TCP_ESTABLISHED:
		return open_established(fd, sk);
	case CR_INET_TCP_LISTEN:
		if (bind_local(fd, sk) < 0)
			return -1;
		/* TCP_FASTOPEN takes effect at listen(). */
		if (apply_opts(fd, sk, 0) < 0)
			return -1;
		if (listen(fd, (int)sk->backlog) < 0)
			return err_sys("listen (backlog %u)", sk->backlog);
		return 0;
	case CR_INET_UDP:
		if (bind_local(fd, sk) < 0)
			return -1;
		if (!addr_is_set(&sk->peer))
			return 0;
		addr_to_sa(sk->family, &sk->peer, &p);
		if (connect(fd, (struct sockaddr *)&p, addr_len(sk->family)) < 0)
			return err_sys("connect");
		return 0;
	default:
		return bind_local(fd, sk);
	}
}

/* A trial restore's network namespace has none of the app's addresses:
 * a transparent socket may use them as its source all the same (bind
 * alone would do with ip_nonlocal_bind, but a connection's route lookup
 * refuses a source address that is not local).  After the app's own
 * options, which carry its IP_TRANSPARENT. */
static int any_source(int fd, const struct cr_inet *sk)
{
	int on = 1;
	int rc = sk->family == AF_INET6
		? setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &on, sizeof(on))
		: setsockopt(fd, SOL_IP, IP_TRANSPARENT, &on, sizeof(on));

	return rc < 0 ? err_sys("setsockopt IP_TRANSPARENT (trial restore)") : 0;
}

static int bind_device(int fd, const struct cr_inet *sk)
{
	if (!sk->bound_dev[0])
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, sk->bound_dev,
		       (socklen_t)strlen(sk->bound_dev) + 1) < 0)
		return err_sys("setsockopt SO_BINDTODEVICE %s%s", sk->bound_dev,
			       errno == ENODEV ? " (no such interface here)" : "");
	return 0;
}

/* The interface that holds the IPv6 address addr now, or 0. */
static unsigned iface_holding(const uint8_t addr[16])
{
	struct ifaddrs *all, *i;
	unsigned idx = 0;

	if (getifaddrs(&all) < 0)
		return 0;
	for (i = all; i && !idx; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET6 &&
		    !memcmp(((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr.s6_addr, addr, 16))
			idx = if_nametoindex(i->ifa_name);
	freeifaddrs(all);
	return idx;
}

/* A link-local IPv6 address is scoped by an interface index, which a
 * network namespace made again (a woken box) numbers anew: the scope is
 * the interface that holds the local address now.  A trial's namespace
 * has loopback only: the scope is loopback. */
static int fix_scope(struct cr_inet *sk, int trial)
{
	struct cr_inet_addr *a[2] = { &sk->local, &sk->peer };
	char name[IF_NAMESIZE];
	unsigned now;

	if (sk->family != AF_INET6 || !sk->local.scope_id)
		return 0;
	now = trial ? 1 : if_indextoname(sk->local.scope_id, name) ? sk->local.scope_id
								: iface_holding(sk->local.addr);
	if (!now)
		return err_set("link-local scope %u: no interface here has the address",
			       sk->local.scope_id);
	for (int i = 0; i < 2; i++)
		if (a[i]->scope_id == sk->local.scope_id)
			a[i]->scope_id = now;
	return 0;
}

int inet_open(const struct cr_inet *sk_image, int trial, int *fd)
{
	struct cr_inet scoped = *sk_image, *sk = &scoped;
	char what[160];
	int s = socket((int)sk->family, (int)sk->type | SOCK_CLOEXEC,
		       sk->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP);

	if (s < 0)
		return err_sys("%s: socket", inet_describe(sk, what, sizeof(what)));
	if (fix_scope(sk, trial) < 0 || apply_opts(s, sk, 1) < 0 || (trial && any_source(s, sk) < 0) ||
	    (!trial && bind_device(s, sk) < 0) || open_state(s, sk) < 0 ||
	    (sk->state != CR_INET_TCP_ESTABLISHED && apply_opts(s, sk, 0) < 0) ||
	    (!trial && mcast_restore(s, (int)sk->family, sk->mcast, sk->mcast_len) < 0)) {
		close(s);   /* a TCP socket still in repair mode closes silently */
		return err_wrap("%s", inet_describe(sk, what, sizeof(what)));
	}
	*fd = s;
	return 0;
}

int inet_finish(int fd, const struct cr_inet *sk)
{
	char what[160];

	if (sk->state != CR_INET_TCP_ESTABLISHED)
		return 0;
	if (tcp_repair_finish(fd, &sk->tcp) < 0 || apply_opts(fd, sk, 0) < 0)
		return err_wrap("%s", inet_describe(sk, what, sizeof(what)));
	return 0;
}

/* ---- validation ---- */

static int check_addr(uint32_t family, const struct cr_inet_addr *a, const char *which)
{
	static const uint8_t zero[12];

	if (family == AF_INET && (memcmp(a->addr + 4, zero, 12) || a->flowinfo || a->scope_id))
		return err_set("%s address: IPv6 fields set in an IPv4 address", which);
	return 0;
}

static int check_tcp_conn(const struct cr_tcp_conn *c)
{
	if (c->outq_len > CR_INET_QUEUE_MAX || c->inq_len > CR_INET_QUEUE_MAX)
		return err_set("TCP queue of %u/%u bytes exceeds %u", c->outq_len, c->inq_len,
			       CR_INET_QUEUE_MAX);
	if (c->p.unsent_len > c->outq_len)
		return err_set("TCP: %u unsent bytes in a %u-byte send queue", c->p.unsent_len,
			       c->outq_len);
	if ((c->outq_len && !c->outq) || (c->inq_len && !c->inq))
		return err_set("TCP queue data missing");
	if (c->p.opts & ~(CR_TCP_OPT_SACK | CR_TCP_OPT_TS | CR_TCP_OPT_WSCALE))
		return err_set("TCP: unknown option bits 0x%x", c->p.opts);
	if (c->p.snd_wscale > WSCALE_MAX || c->p.rcv_wscale > WSCALE_MAX)
		return err_set("TCP: window scale %u/%u above %d", c->p.snd_wscale, c->p.rcv_wscale,
			       WSCALE_MAX);
	if (c->p.mss == 0 || c->p.mss > 65535)
		return err_set("TCP: mss %u out of range", c->p.mss);
	if (c->p.fin & ~(CR_TCP_FIN_SENT | CR_TCP_FIN_RCVD))
		return err_set("TCP: fin 0x%x has unknown bits", c->p.fin);
	if (c->p.max_window < c->p.snd_wnd)
		return err_set("TCP: max window %u below send window %u", c->p.max_window,
			       c->p.snd_wnd);
	return 0;
}

static int check_state(const struct cr_inet *sk)
{
	int tcp = sk->type == SOCK_STREAM;

	if (sk->state == CR_INET_UDP ? tcp : (!tcp || sk->state < CR_INET_TCP_CLOSED ||
					     sk->state > CR_INET_TCP_ESTABLISHED))
		return err_set("socket state %u does not fit type %u", sk->state, sk->type);
	if (sk->state == CR_INET_TCP_LISTEN && (!sk->local.port || sk->backlog > BACKLOG_MAX))
		return err_set("listening socket: port %u, backlog %u", sk->local.port,
			       sk->backlog);
	if (sk->state == CR_INET_TCP_ESTABLISHED) {
		if (!sk->local.port || !sk->peer.port)
			return err_set("TCP connection without both ports");
		return check_tcp_conn(&sk->tcp);
	}
	if (addr_is_set(&sk->peer) && sk->state != CR_INET_UDP)
		return err_set("peer address on an unconnected socket");
	return 0;
}

/* The options of image v7: booleans are 0 or 1 (getsockopt normalises
 * them), the others within what setsockopt accepts; an IPv6 option on an
 * IPv4 socket is 0. */
static int check_opts_v7(const struct cr_inet *sk)
{
	const struct cr_inet_opts *o = &sk->opts;
	const struct { const char *name; uint32_t v, max; int v6; } r[] = {
		{ "IP_PKTINFO", o->pktinfo, 1, 0 },
		{ "IP_RECVTTL", o->recvttl, 1, 0 },
		{ "IP_RECVTOS", o->recvtos, 1, 0 },
		{ "IP_RECVERR", o->recverr, 1, 0 },
		{ "IP_RECVORIGDSTADDR", o->origdstaddr, 1, 0 },
		{ "IP_FREEBIND", o->freebind, 1, 0 },
		{ "IP_TRANSPARENT", o->transparent, 1, 0 },
		{ "IP_TOS", o->tos, 255, 0 },
		{ "IP_TTL", o->ttl, 255, 0 },
		{ "IP_MTU_DISCOVER", o->mtu_discover, IP_PMTUDISC_OMIT, 0 },
		{ "SO_TIMESTAMP", o->timestamp, 1, 0 },
		{ "SO_TIMESTAMPNS", o->timestampns, 1, 0 },
		{ "SO_PRIORITY", o->priority, INT32_MAX, 0 },
		{ "IPV6_RECVPKTINFO", o->v6_recvpktinfo, 1, 1 },
		{ "IPV6_RECVHOPLIMIT", o->v6_recvhoplimit, 1, 1 },
		{ "IPV6_RECVTCLASS", o->v6_recvtclass, 1, 1 },
		{ "IPV6_RECVERR", o->v6_recverr, 1, 1 },
		{ "IPV6_TCLASS", o->v6_tclass, 255, 1 },
		{ "IPV6_UNICAST_HOPS", o->v6_hops, 255, 1 },
		{ "IPV6_MTU_DISCOVER", o->v6_mtu_discover, IPV6_PMTUDISC_OMIT, 1 },
	};

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		if (r[i].v6 && sk->family != AF_INET6 && r[i].v)
			return err_set("socket option %s on an IPv4 socket", r[i].name);
		if (r[i].v > r[i].max)
			return err_set("socket option %s = %u out of range (max %u)", r[i].name,
				       r[i].v, r[i].max);
	}
	if (sk->opts.ttl == 0)
		return err_set("socket option IP_TTL = 0 out of range");
	return 0;
}

int inet_validate(const struct cr_inet *sk)
{
	if (sk->family != AF_INET && sk->family != AF_INET6)
		return err_set("socket family %u is not inet", sk->family);
	if (sk->type != SOCK_STREAM && sk->type != SOCK_DGRAM)
		return err_set("socket type %u unsupported", sk->type);
	if (check_addr(sk->family, &sk->local, "local") < 0 ||
	    check_addr(sk->family, &sk->peer, "peer") < 0)
		return -1;
	if (sk->opts.linger_secs > 65535 || sk->opts.keepcnt > 127 ||
	    sk->opts.keepidle > 32767 || sk->opts.keepintvl > 32767 ||
	    sk->opts.rcvbuf > INT32_MAX || sk->opts.sndbuf > INT32_MAX)
		return err_set("socket option out of range");
	if (check_opts_v7(sk) < 0)
		return -1;
	if (sk->mcast_len && (sk->type != SOCK_DGRAM ||
			      mcast_check((int)sk->family, sk->mcast, sk->mcast_len) < 0))
		return sk->type != SOCK_DGRAM ? err_set("multicast state on a TCP socket") : -1;
	return check_state(sk);
}

void inet_free(struct cr_inet *sk)
{
	free(sk->tcp.outq);
	free(sk->tcp.inq);
	sk->tcp.outq = sk->tcp.inq = NULL;
}

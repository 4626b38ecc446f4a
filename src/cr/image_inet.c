/*
 * image_inet.c - the inet record of an image (cr_file.inet, laddr/raddr,
 * the queues in data[]) as the socket library's model (struct cr_inet,
 * inet.h), and its validation.
 *
 * In the image: laddr/raddr are the raw sockaddr_in/sockaddr_in6, the
 * scalar state is cr_file.inet, and an established connection carries its
 * receive queue as data[0] and its send queue as data[1]; a UDP socket
 * its multicast state (inet_mcast.c) as data[0], if it has any.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "common/err.h"
#include "cr/image.h"
#include "cr/image_int.h"
#include "cr/inet.h"

void cr_inet_addr_out(uint32_t family, const struct cr_inet_addr *a, struct cr_sockaddr *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (family == AF_INET) {
		struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(a->port) };

		memcpy(&s.sin_addr, a->addr, 4);
		memcpy(sa->addr, &s, sizeof(s));
		sa->len = sizeof(s);
	} else {
		struct sockaddr_in6 s = { .sin6_family = AF_INET6, .sin6_port = htons(a->port),
					  .sin6_flowinfo = a->flowinfo,
					  .sin6_scope_id = a->scope_id };

		memcpy(&s.sin6_addr, a->addr, 16);
		memcpy(sa->addr, &s, sizeof(s));
		sa->len = sizeof(s);
	}
}

int cr_inet_addr_in(uint32_t family, const struct cr_sockaddr *sa, struct cr_inet_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (sa->len == 0)
		return 0;
	if (family == AF_INET && sa->len == sizeof(struct sockaddr_in)) {
		struct sockaddr_in s;

		memcpy(&s, sa->addr, sizeof(s));
		if (s.sin_family != AF_INET)
			return err_set("address family %u in an IPv4 socket", s.sin_family);
		memcpy(a->addr, &s.sin_addr, 4);
		a->port = ntohs(s.sin_port);
		return 0;
	}
	if (family == AF_INET6 && sa->len == sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 s;

		memcpy(&s, sa->addr, sizeof(s));
		if (s.sin6_family != AF_INET6)
			return err_set("address family %u in an IPv6 socket", s.sin6_family);
		memcpy(a->addr, &s.sin6_addr, 16);
		a->port = ntohs(s.sin6_port);
		a->flowinfo = s.sin6_flowinfo;
		a->scope_id = s.sin6_scope_id;
		return 0;
	}
	return err_set("socket address of %u bytes for family %u", sa->len, family);
}

int cr_inet_model(const struct cr_file *f, struct cr_inet *sk)
{
	memset(sk, 0, sizeof(*sk));
	sk->family = f->inet.family;
	sk->type = f->kind == CR_FILE_TCP ? SOCK_STREAM : SOCK_DGRAM;
	sk->state = f->inet.state;
	sk->backlog = f->inet.backlog;
	sk->opts = f->inet.opts;
	sk->tcp.p = f->inet.tcp;
	if (f->path) {   /* the interface the socket is bound to (SO_BINDTODEVICE) */
		size_t n = strlen(f->path);

		if (n == 0 || n >= sizeof(sk->bound_dev) || strchr(f->path, '/') ||
		    !strcmp(f->path, ".") || !strcmp(f->path, ".."))
			return err_set("bound interface name '%.40s' is not one", f->path);
		memcpy(sk->bound_dev, f->path, n + 1);
	}
	if (sk->family != AF_INET && sk->family != AF_INET6)
		return err_set("socket family %u is not inet", sk->family);
	if (cr_inet_addr_in(sk->family, &f->laddr, &sk->local) < 0 ||
	    cr_inet_addr_in(sk->family, &f->raddr, &sk->peer) < 0)
		return -1;
	if (sk->state == CR_INET_UDP && f->nr_data == 1) {   /* its multicast state */
		if (f->data[0].len > UINT32_MAX)
			return err_set("multicast state of %llu bytes",
				       (unsigned long long)f->data[0].len);
		sk->mcast = f->data[0].data;
		sk->mcast_len = (uint32_t)f->data[0].len;
		return 0;
	}
	if (sk->state != CR_INET_TCP_ESTABLISHED)
		return f->nr_data ? err_set("queued data on an unconnected inet socket") : 0;
	if (f->nr_data != 2 || f->data[0].len > CR_INET_QUEUE_MAX ||
	    f->data[1].len > CR_INET_QUEUE_MAX)
		return err_set("a TCP connection needs 2 queues of at most %u bytes",
			       CR_INET_QUEUE_MAX);
	sk->tcp.inq_len = (uint32_t)f->data[0].len;
	sk->tcp.inq = f->data[0].data;
	sk->tcp.outq_len = (uint32_t)f->data[1].len;
	sk->tcp.outq = f->data[1].data;
	return 0;
}

int image_inet_check(const struct cr_file *f)
{
	struct cr_inet sk;

	if (cr_inet_model(f, &sk) < 0 || inet_validate(&sk) < 0)
		return -1;
	if (f->inet.custody && !inet_custody_kind(&sk))
		return err_set("custody tag on a socket that custody does not keep");
	return 0;
}

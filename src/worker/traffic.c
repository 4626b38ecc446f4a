/* traffic.c - TCP byte counters by socket inode (see traffic.h). */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "worker/traffic.h"

static int add_entry(struct traffic *t, uint64_t ino, uint64_t bytes)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct traffic_entry *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return err_set("out of memory");
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n].ino = ino;
	t->v[t->n++].bytes = bytes;
	return 0;
}

static uint64_t info_bytes(const struct inet_diag_msg *m, size_t len)
{
	size_t off = NLMSG_ALIGN(sizeof(*m));

	while (off + sizeof(struct rtattr) <= len) {
		const struct rtattr *a = (const void *)((const char *)m + off);

		if (a->rta_len < sizeof(*a) || off + a->rta_len > len)
			break;
		if (a->rta_type == INET_DIAG_INFO) {
			struct tcp_info ti;
			size_t n = a->rta_len - RTA_LENGTH(0);

			memset(&ti, 0, sizeof(ti));
			memcpy(&ti, RTA_DATA(a), n < sizeof(ti) ? n : sizeof(ti));
			return ti.tcpi_bytes_received + ti.tcpi_bytes_acked;
		}
		off += RTA_ALIGN(a->rta_len);
	}
	return 0;
}

static int request_dump(int s, int family)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.req.sdiag_family = (uint8_t)family;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	msg.req.idiag_states = ~0u;
	msg.req.idiag_ext = 1 << (INET_DIAG_INFO - 1);
	if (sendto(s, &msg, sizeof(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return err_sys("inet_diag request");
	return 0;
}

static int read_dump(int s, struct traffic *t)
{
	char buf[32768];

	for (;;) {
		ssize_t n = recv(s, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys("inet_diag read");
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			const struct inet_diag_msg *m = NLMSG_DATA(h);

			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return err_set("inet_diag dump refused");
			if (add_entry(t, m->idiag_inode, info_bytes(m, h->nlmsg_len - NLMSG_HDRLEN)) < 0)
				return -1;
		}
	}
}

static int cmp_entry(const void *a, const void *b)
{
	const struct traffic_entry *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

int traffic_snapshot(struct traffic *t)
{
	static const int families[] = { AF_INET, AF_INET6 };
	int s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	t->n = 0;
	if (s < 0)
		return err_sys("socket NETLINK_SOCK_DIAG");
	for (size_t i = 0; i < 2; i++)
		if (request_dump(s, families[i]) < 0 || read_dump(s, t) < 0) {
			close(s);
			return -1;
		}
	close(s);
	if (t->n)       /* none: t->v may be NULL (a namespace with no TCP socket) */
		qsort(t->v, t->n, sizeof(*t->v), cmp_entry);
	return 0;
}

uint64_t traffic_bytes(const struct traffic *t, uint64_t ino)
{
	struct traffic_entry key = { .ino = ino };
	const struct traffic_entry *e;

	if (!t->n)
		return 0;
	e = bsearch(&key, t->v, t->n, sizeof(*t->v), cmp_entry);
	return e ? e->bytes : 0;
}

void traffic_free(struct traffic *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static uint64_t iface_counter(const char *ifname, const char *what)
{
	char path[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%.15s/statistics/%s", ifname, what);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

uint64_t traffic_iface_packets(const char *ifname)
{
	return iface_counter(ifname, "rx_packets") + iface_counter(ifname, "tx_packets");
}

/*
 * rtnl.c - the few rtnetlink requests a box needs (bridge, veth pair,
 * IPv4 and IPv6 addresses, default routes, link state, bridge port
 * isolation), sent with libmnl in the calling thread's network
 * namespace.  No `ip` processes.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "box/box_int.h"
#include "common/err.h"

/* Send the request in buf and wait for its ack; errno is the kernel's. */
static int rtnl_talk(struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	unsigned int portid, seq = (unsigned int)time(NULL);
	int rc = -1;
	ssize_t n;

	if (!nl)
		return -1;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto out;
	portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		goto out;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		goto out;
	rc = mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL) < 0 ? -1 : 0;
out: {
		int e = errno;

		mnl_socket_close(nl);
		errno = e;
	}
	return rc;
}

/* Requests sent together (one socket, one send; the kernel handles them
 * in order and acks each): a box's network is 3 round trips, not 15. */
#define BATCH_MAX 8
struct batch {
	char buf[4096];
	size_t len;                 /* the messages before cur */
	struct nlmsghdr *cur;       /* the one being filled */
	int n;
	char what[BATCH_MAX][80];   /* for the error */
	int ok[BATCH_MAX];          /* an error that is none (EEXIST), or 0 */
	int overflow;               /* more than fit: nothing is sent */
	char spare[512];            /* where a request that did not fit goes */
};

/* The next request of the batch (type, NLM_F_ flags); what says it in an
 * error, in which the errno ok is none. */
static struct nlmsghdr *batch_add(struct batch *bt, int type, int flags, int ok,
				  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static struct nlmsghdr *batch_add(struct batch *bt, int type, int flags, int ok,
				  const char *fmt, ...)
{
	va_list ap;

	if (bt->cur)
		bt->len += NLMSG_ALIGN(bt->cur->nlmsg_len);
	if (bt->overflow || bt->n >= BATCH_MAX || bt->len + sizeof(bt->spare) > sizeof(bt->buf)) {
		bt->overflow = 1;
		bt->cur = NULL;
		return mnl_nlmsg_put_header(bt->spare);
	}
	bt->cur = mnl_nlmsg_put_header(bt->buf + bt->len);
	bt->cur->nlmsg_type = (uint16_t)type;
	bt->cur->nlmsg_flags = (uint16_t)(flags | NLM_F_REQUEST | NLM_F_ACK);
	bt->cur->nlmsg_seq = (uint32_t)bt->n;
	va_start(ap, fmt);
	vsnprintf(bt->what[bt->n], sizeof(bt->what[0]), fmt, ap);
	va_end(ap);
	bt->ok[bt->n++] = ok;
	return bt->cur;
}

/* The acks in buf (n bytes): each counted in *acked, the first error
 * (but the ok ones) kept in *failed (its request) and *err. */
static void batch_acks(const struct batch *bt, const char *buf, ssize_t n, int *acked,
		       int *failed, int *err)
{
	const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
	int len = (int)n;

	for (; mnl_nlmsg_ok(h, len); h = mnl_nlmsg_next(h, &len)) {
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
		int i = (int)h->nlmsg_seq;

		if (h->nlmsg_type != NLMSG_ERROR || i < 0 || i >= bt->n)
			continue;
		(*acked)++;
		if (e->error && -e->error != bt->ok[i] && *failed < 0) {
			*failed = i;
			*err = -e->error;
		}
	}
}

/* Send the batch and read every ack: 0, or -1 naming the first request
 * that failed. */
static int batch_send(struct batch *bt)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	int acked = 0, failed = -1, err = 0;
	size_t len = bt->len + (bt->cur ? NLMSG_ALIGN(bt->cur->nlmsg_len) : 0);

	if (bt->overflow)
		return err_set("rtnetlink: too many requests at once (%s...)", bt->what[0]);
	if (!nl)
		return err_sys("rtnetlink socket");
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_sendto(nl, bt->buf, len) < 0) {
		err_sys("rtnetlink: %s", bt->what[0]);
		mnl_socket_close(nl);
		return -1;
	}
	while (acked < bt->n) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0) {
			err_sys("rtnetlink: %s: no answer", bt->what[0]);
			mnl_socket_close(nl);
			return -1;
		}
		batch_acks(bt, buf, n, &acked, &failed, &err);
	}
	mnl_socket_close(nl);
	if (failed < 0)
		return 0;
	errno = err;
	return err_sys("%s", bt->what[failed]);
}

static struct ifinfomsg *link_msg(char *buf, int type, int flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = (uint16_t)flags;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	return ifi;
}

static int index_of(const char *name, unsigned *idx)
{
	*idx = if_nametoindex(name);
	if (!*idx)
		return err_sys("network interface %s", name);
	return 0;
}

int rtnl_link_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

static int write_sysctl(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return err_sys("open %s", path);
	if (write(fd, val, strlen(val)) < 0) {
		close(fd);
		return err_sys("write %s", path);
	}
	close(fd);
	return 0;
}

/* The bridge forwards what boxes send (egress) and takes DNATed loopback
 * traffic (route_localnet); both only on this bridge.  IPv6 forwards per
 * interface only with force_forwarding (Linux 6.17; `forwarding` of an
 * interface only makes it a router, and the global one would change the
 * whole host): without it, egress and published ports from other machines
 * over IPv6 need net.ipv6.conf.all.forwarding. */
static int bridge_sysctls(const char *name, int v6)
{
	char path[128];

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/forwarding", name);
	if (write_sysctl(path, "1") < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", name);
	if (write_sysctl(path, "1") < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/force_forwarding", name);
	if (v6 && access(path, F_OK) == 0 && write_sysctl(path, "1") < 0)
		return -1;
	return 0;
}

static struct ifinfomsg *batch_link(struct batch *bt, int type, int flags, const char *fmt,
				    const char *name)
{
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(batch_add(bt, type, flags, 0, fmt, name),
							   sizeof(struct ifinfomsg));

	ifi->ifi_family = AF_UNSPEC;
	return ifi;
}

/* Link idx set up. */
static struct ifinfomsg *batch_up(struct batch *bt, const char *name, unsigned idx)
{
	struct ifinfomsg *ifi = batch_link(bt, RTM_NEWLINK, 0, "set %s up", name);

	ifi->ifi_index = (int)idx;
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = IFF_UP;
	return ifi;
}

/* An address of family (AF_INET: 4 bytes, AF_INET6: 16) on link idx (dev);
 * IPv6 ones skip duplicate address detection (usable at once, and the
 * subnet is ours). */
static void batch_addr(struct batch *bt, const char *dev, unsigned idx, int family,
		       const void *addr, int prefix, int ok)
{
	size_t len = family == AF_INET ? 4 : 16;
	struct nlmsghdr *nlh = batch_add(bt, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ok,
					 "add an IPv%d address to %s", family == AF_INET ? 4 : 6,
					 dev);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = (unsigned char)family;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_index = idx;
	if (family == AF_INET6)
		ifa->ifa_flags = IFA_F_NODAD;
	mnl_attr_put(nlh, IFA_LOCAL, len, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, len, addr);
}

static void batch_route_default(struct batch *bt, const char *dev, unsigned idx, int family,
				const void *gateway)
{
	struct nlmsghdr *nlh = batch_add(bt, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, 0,
					 "add an IPv%d default route via %s",
					 family == AF_INET ? 4 : 6, dev);
	struct rtmsg *rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));

	rt->rtm_family = (unsigned char)family;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_GATEWAY, family == AF_INET ? 4 : 16, gateway);
	mnl_attr_put_u32(nlh, RTA_OIF, idx);
}

static int create_bridge(const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct nlattr *info;

	link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, info);
	if (rtnl_talk(nlh) < 0 && errno != EEXIST)
		return err_sys("create bridge %s", name);
	return 0;
}

int rtnl_bridge_ensure(const char *name, uint32_t addr, int prefix, const uint8_t *addr6,
		       int prefix6)
{
	struct batch bt = { .n = 0 };
	unsigned idx;

	if (!rtnl_link_exists(name) && create_bridge(name) < 0)
		return -1;
	if (!rtnl_is_bridge(name))
		return err_set("bridge %s: a link of that name is not a bridge", name);
	if (index_of(name, &idx) < 0)
		return err_wrap("bridge %s", name);
	batch_addr(&bt, name, idx, AF_INET, &addr, prefix, EEXIST);
	if (addr6)
		batch_addr(&bt, name, idx, AF_INET6, addr6, prefix6, EEXIST);
	batch_up(&bt, name, idx);
	mnl_attr_put_u32(bt.cur, IFLA_GROUP, BOX_IFGROUP);
	if (batch_send(&bt) < 0 || bridge_sysctls(name, addr6 != NULL) < 0)
		return err_wrap("bridge %s", name);
	return 0;
}

/* The veth pair host/peer: host up on the bridge master, its port
 * isolated (RTM_NEWLINK by name with the bridge's port data: the host
 * end has no index before the first request); peer in the network
 * namespace peer_netns_fd, down (asked up with the pair, its creation
 * fails with ENOTCONN here; rtnl_box_network sets it up). */
int rtnl_veth_create(const char *host, const char *peer, int peer_netns_fd,
		     const uint8_t peer_mac[6], const char *master)
{
	struct batch bt = { .n = 0 };
	struct nlattr *info, *data, *p;
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;
	unsigned midx;

	if (index_of(master, &midx) < 0)
		return -1;
	ifi = batch_link(&bt, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, "create veth %s", host);
	ifi->ifi_flags = IFF_UP;
	nlh = bt.cur;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, host);
	mnl_attr_put_u32(nlh, IFLA_MASTER, midx);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	p = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	memset(ifi, 0, sizeof(*ifi));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, peer_mac);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	mnl_attr_nest_end(nlh, p);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	batch_link(&bt, RTM_NEWLINK, 0, "isolate bridge port %s", host);
	nlh = bt.cur;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, host);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_SLAVE_KIND, "bridge");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_SLAVE_DATA);
	mnl_attr_put_u8(nlh, IFLA_BRPORT_ISOLATED, 1);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return batch_send(&bt);
}

int rtnl_box_network(const char *dev, uint32_t addr, int prefix, uint32_t gateway,
		     const uint8_t *addr6, int prefix6, const uint8_t *gateway6)
{
	struct batch bt = { .n = 0 };
	unsigned lo, idx;

	if (index_of("lo", &lo) < 0 || index_of(dev, &idx) < 0)
		return -1;
	batch_up(&bt, "lo", lo);
	batch_addr(&bt, dev, idx, AF_INET, &addr, prefix, 0);
	batch_up(&bt, dev, idx);
	batch_route_default(&bt, dev, idx, AF_INET, &gateway);
	if (addr6) {
		batch_addr(&bt, dev, idx, AF_INET6, addr6, prefix6, 0);
		batch_route_default(&bt, dev, idx, AF_INET6, gateway6);
	}
	return batch_send(&bt);
}

int rtnl_link_delete(const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi = link_msg(buf, RTM_DELLINK, 0);
	unsigned idx = if_nametoindex(name);

	if (!idx)
		return 0;
	ifi->ifi_index = (int)idx;
	if (rtnl_talk((struct nlmsghdr *)buf) < 0 && errno != ENODEV)
		return err_sys("delete %s", name);
	return 0;
}

int rtnl_is_bridge(const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", name);
	return access(path, F_OK) == 0;
}

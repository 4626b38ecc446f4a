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
 * traffic (route_localnet); both only on this bridge. */
static int bridge_sysctls(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/forwarding", name);
	if (write_sysctl(path, "1") < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", name);
	return write_sysctl(path, "1");
}

/* A RTM_NEWLINK change of the link name in buf. */
static struct ifinfomsg *link_change(char *buf, const char *name)
{
	struct ifinfomsg *ifi = link_msg(buf, RTM_NEWLINK, 0);
	unsigned idx;

	if (index_of(name, &idx) < 0)
		return NULL;
	ifi->ifi_index = (int)idx;
	return ifi;
}

static int set_group(const char *name, uint32_t group)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	if (!link_change(buf, name))
		return -1;
	mnl_attr_put_u32((struct nlmsghdr *)buf, IFLA_GROUP, group);
	if (rtnl_talk((struct nlmsghdr *)buf) < 0)
		return err_sys("set the interface group of %s", name);
	return 0;
}

int rtnl_bridge_ensure(const char *name, uint32_t addr, int prefix)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlattr *info;

	if (!rtnl_link_exists(name)) {
		struct ifinfomsg *ifi = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;

		(void)ifi;
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
		info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
		mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
		mnl_attr_nest_end(nlh, info);
		if (rtnl_talk(nlh) < 0 && errno != EEXIST)
			return err_sys("create bridge %s", name);
	}
	if (!rtnl_is_bridge(name))
		return err_set("bridge %s: a link of that name is not a bridge", name);
	if (rtnl_addr_add(name, addr, prefix) < 0 && errno != EEXIST)
		return -1;
	err_clear();
	if (set_group(name, BOX_IFGROUP) < 0 || rtnl_link_up(name) < 0 || bridge_sysctls(name) < 0)
		return err_wrap("bridge %s", name);
	return 0;
}

/* IPv6 forwards per interface only with force_forwarding (Linux 6.17;
 * `forwarding` of an interface only makes it a router, and the global
 * one would change the whole host): without it, egress and published
 * ports from other machines over IPv6 need net.ipv6.conf.all.forwarding. */
int rtnl_bridge_ensure6(const char *name, const uint8_t addr[16], int prefix)
{
	char path[128];

	if (rtnl_addr_add6(name, addr, prefix) < 0 && errno != EEXIST)
		return err_wrap("bridge %s", name);
	err_clear();
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/force_forwarding", name);
	if (access(path, F_OK) == 0 && write_sysctl(path, "1") < 0)
		return err_wrap("bridge %s", name);
	return 0;
}

int rtnl_veth_create(const char *host, const char *peer, int peer_netns_fd,
		     const uint8_t peer_mac[6])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct nlattr *info, *data, *p;
	struct ifinfomsg *pifi;

	link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, host);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	p = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	pifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifi));
	memset(pifi, 0, sizeof(*pifi));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, peer_mac);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	mnl_attr_nest_end(nlh, p);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	if (rtnl_talk(nlh) < 0)
		return err_sys("create veth %s", host);
	return 0;
}

int rtnl_set_master(const char *dev, const char *master)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi = link_msg(buf, RTM_NEWLINK, 0);
	unsigned idx, midx;

	if (index_of(dev, &idx) < 0 || index_of(master, &midx) < 0)
		return -1;
	ifi->ifi_index = (int)idx;
	mnl_attr_put_u32((struct nlmsghdr *)buf, IFLA_MASTER, midx);
	if (rtnl_talk((struct nlmsghdr *)buf) < 0)
		return err_sys("attach %s to %s", dev, master);
	return 0;
}

int rtnl_port_isolate(const char *dev)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi = link_msg(buf, RTM_SETLINK, 0);
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct nlattr *prot;
	unsigned idx;

	if (index_of(dev, &idx) < 0)
		return -1;
	ifi->ifi_family = AF_BRIDGE;
	ifi->ifi_index = (int)idx;
	prot = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
	mnl_attr_put_u8(nlh, IFLA_BRPORT_ISOLATED, 1);
	mnl_attr_nest_end(nlh, prot);
	if (rtnl_talk(nlh) < 0)
		return err_sys("isolate bridge port %s", dev);
	return 0;
}

int rtnl_link_up(const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi = link_change(buf, name);

	if (!ifi)
		return -1;
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = IFF_UP;
	if (rtnl_talk((struct nlmsghdr *)buf) < 0)
		return err_sys("set %s up", name);
	return 0;
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

/* An address of family (AF_INET: 4 bytes, AF_INET6: 16) on dev; IPv6
 * ones skip duplicate address detection (usable at once, and the subnet
 * is ours). */
static int addr_add(const char *dev, int family, const void *addr, int prefix)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	size_t len = family == AF_INET ? 4 : 16;
	struct ifaddrmsg *ifa;
	unsigned idx;

	if (index_of(dev, &idx) < 0)
		return -1;
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)family;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_index = idx;
	if (family == AF_INET6)
		ifa->ifa_flags = IFA_F_NODAD;
	mnl_attr_put(nlh, IFA_LOCAL, len, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, len, addr);
	if (rtnl_talk(nlh) < 0)
		return err_sys("add an IPv%d address to %s", family == AF_INET ? 4 : 6, dev);
	return 0;
}

int rtnl_addr_add(const char *dev, uint32_t addr, int prefix)
{
	return addr_add(dev, AF_INET, &addr, prefix);
}

int rtnl_addr_add6(const char *dev, const uint8_t addr[16], int prefix)
{
	return addr_add(dev, AF_INET6, addr, prefix);
}

static int route_default(const char *dev, int family, const void *gateway)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rt;
	unsigned idx;

	if (index_of(dev, &idx) < 0)
		return -1;
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtm_family = (unsigned char)family;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_GATEWAY, family == AF_INET ? 4 : 16, gateway);
	mnl_attr_put_u32(nlh, RTA_OIF, idx);
	if (rtnl_talk(nlh) < 0)
		return err_sys("add an IPv%d default route via %s", family == AF_INET ? 4 : 6, dev);
	return 0;
}

int rtnl_route_default(const char *dev, uint32_t gateway)
{
	return route_default(dev, AF_INET, &gateway);
}

int rtnl_route_default6(const char *dev, const uint8_t gateway[16])
{
	return route_default(dev, AF_INET6, gateway);
}

int rtnl_is_bridge(const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", name);
	return access(path, F_OK) == 0;
}

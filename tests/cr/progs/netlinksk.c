/*
 * netlinksk.c - netlink sockets, checked after every cycle:
 *   - fd 20: NETLINK_ROUTE raw socket bound to RTMGRP_LINK and
 *     RTMGRP_IPV4_IFADDR, plus group 33 joined with NETLINK_ADD_MEMBERSHIP,
 *     NETLINK_NO_ENOBUFS and NETLINK_EXT_ACK on: its memberships and options
 *     must come back, a RTM_GETLINK dump request must be answered, and an
 *     address added to lo (127.77.N.1/32, removed again) must be notified
 *     to it as RTM_NEWADDR;
 *   - fd 21: NETLINK_KOBJECT_UEVENT datagram socket bound to group 1: its
 *     membership must come back;
 *   - fd 22: NETLINK_ROUTE socket never bound (port id 0 stays 0).
 * Messages queued at the dump are dropped by design, so each check first
 * drains what is queued.
 */
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>

#include "check.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
enum { FD_RT = 20, FD_UEV, FD_RAW };
#define GROUP_HIGH 33

static void put_fd(int fd, int want)
{
	if (fd < 0 || dup2(fd, want) < 0)
		ck_die("netlink socket for fd %d", want);
	close(fd);
}

static void setup(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR };
	int one = 1, g = GROUP_HIGH;

	put_fd(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE), FD_RT);
	if (bind(FD_RT, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(FD_RT, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) < 0 ||
	    setsockopt(FD_RT, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one)) < 0 ||
	    setsockopt(FD_RT, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) < 0)
		ck_die("set up the route socket");
	put_fd(socket(AF_NETLINK, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT), FD_UEV);
	sa.nl_groups = 1;
	if (bind(FD_UEV, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		ck_die("bind the uevent socket");
	put_fd(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE), FD_RAW);
}

static int nl_opt(int fd, int opt)
{
	int v = -1;
	socklen_t l = sizeof(v);

	getsockopt(fd, SOL_NETLINK, opt, &v, &l);
	return v;
}

static void check_state(void)
{
	uint32_t g[4] = { 0 };
	socklen_t l = sizeof(g);
	struct sockaddr_nl sa;

	CK(getsockopt(FD_RT, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, g, &l) == 0 &&
	   g[0] == (RTMGRP_LINK | RTMGRP_IPV4_IFADDR) && g[1] == 1u << (GROUP_HIGH - 33),
	   "route groups 0x%x 0x%x", g[0], g[1]);
	memset(g, 0, sizeof(g));
	l = sizeof(g);
	CK(getsockopt(FD_UEV, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, g, &l) == 0 && g[0] == 1,
	   "uevent groups 0x%x", g[0]);
	CK(nl_opt(FD_RT, NETLINK_NO_ENOBUFS) == 1 && nl_opt(FD_RT, NETLINK_EXT_ACK) == 1 &&
	   nl_opt(FD_RT, NETLINK_PKTINFO) == 0, "route socket options");
	l = sizeof(sa);
	CK(getsockname(FD_RT, (struct sockaddr *)&sa, &l) == 0 && sa.nl_pid != 0,
	   "route socket not bound");
	l = sizeof(sa);
	CK(getsockname(FD_RAW, (struct sockaddr *)&sa, &l) == 0 && sa.nl_pid == 0,
	   "unbound socket got port id %u", sa.nl_pid);
}

static void drain(int fd)
{
	char buf[16384];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* Wait up to 2 s for a message of type want (seq 0: any) on fd. */
static int wait_msg(int fd, uint16_t want, uint32_t seq)
{
	static char buf[65536];
	double end = ck_now() + 2;

	while (ck_now() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 100) != 1)
			continue;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		for (struct nlmsghdr *h = (void *)buf; n > 0 && NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n))
			if (h->nlmsg_type == want && (!seq || h->nlmsg_seq == seq))
				return 0;
	}
	return -1;
}

static void check_dump(int n)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = { { sizeof(req), RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1000u + (uint32_t)n, 0 },
		  { .ifi_family = AF_UNSPEC } };
	struct sockaddr_nl k = { .nl_family = AF_NETLINK };

	CK(sendto(FD_RT, &req, sizeof(req), 0, (struct sockaddr *)&k, sizeof(k)) ==
	   (ssize_t)sizeof(req), "send RTM_GETLINK: %s", strerror(errno));
	CK(wait_msg(FD_RT, RTM_NEWLINK, 1000u + (uint32_t)n) == 0, "no RTM_NEWLINK answer");
}

/* Add or remove 127.77.n.1/32 on lo through a socket of the check. */
static int lo_addr(int n, uint16_t type)
{
	struct {
		struct nlmsghdr h;
		struct ifaddrmsg a;
		struct rtattr ra;
		struct in_addr ip;
	} req;
	struct sockaddr_nl k = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), ok;

	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = type;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (type == RTM_NEWADDR ? NLM_F_CREATE : 0);
	req.h.nlmsg_seq = 1;
	req.a.ifa_family = AF_INET;
	req.a.ifa_prefixlen = 32;
	req.a.ifa_index = if_nametoindex("lo");
	req.ra.rta_type = IFA_LOCAL;
	req.ra.rta_len = RTA_LENGTH(sizeof(struct in_addr));
	req.ip.s_addr = htonl(0x7f4d0001u | ((uint32_t)(n & 0xff) << 8));
	ok = fd >= 0 && sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&k, sizeof(k)) > 0 &&
	     wait_msg(fd, NLMSG_ERROR, 1) == 0;
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

static void check_events(int n)
{
	if (lo_addr(n, RTM_NEWADDR) < 0) {
		ck_fail("could not add 127.77.%d.1 to lo", n);
		return;
	}
	CK(wait_msg(FD_RT, RTM_NEWADDR, 0) == 0, "no RTM_NEWADDR notification");
	CK(lo_addr(n, RTM_DELADDR) == 0, "could not remove 127.77.%d.1 from lo", n);
	drain(FD_RT);
}

int main(int argc, char **argv)
{
	ck_init(argc, argv);
	setup();
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		drain(FD_RT);
		drain(FD_UEV);
		check_state();
		check_dump(n);
		check_events(n);
		ck_report(n);
	}
}

/*
 * file_netlink.c - netlink sockets (CR_FILE_NETLINK) of the protocols a
 * daemon uses to follow the network and devices: NETLINK_ROUTE (dnsmasq,
 * anything watching links and addresses) and NETLINK_KOBJECT_UEVENT.
 *
 * Dump: the protocol and type, the port id (getsockname), the multicast
 * groups joined (NETLINK_LIST_MEMBERSHIPS), the boolean NETLINK_* options,
 * the buffer sizes and a connect(2)ed destination (getpeername).
 * Restore: a new socket of the same protocol and type, bound with port id 0
 * (the kernel picks one: the port id may change) to the groups, the same
 * options and destination.  Messages queued in the socket are dropped: a
 * request in flight gets no answer, and the multicast notifications that
 * were waiting are lost.  Other protocols stay unsupported (no kind
 * matches them).
 */
#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/files.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#define NL_GROUPS_MAX 128

static const int bool_opts[] = {
	NETLINK_PKTINFO, NETLINK_BROADCAST_ERROR, NETLINK_NO_ENOBUFS,
	NETLINK_LISTEN_ALL_NSID, NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK,
};
#define NR_BOOL_OPTS (sizeof(bool_opts) / sizeof(bool_opts[0]))

static int sol_int(int fd, int level, int opt, int *v)
{
	socklen_t len = sizeof(*v);

	if (getsockopt(fd, level, opt, v, &len) < 0)
		return err_sys("getsockopt %d/%d", level, opt);
	return 0;
}

static int nl_match(const struct fd_dump *d)
{
	int dom, proto;

	if (!S_ISSOCK(d->st.st_mode) || sol_int(d->dup, SOL_SOCKET, SO_DOMAIN, &dom) < 0 ||
	    dom != AF_NETLINK || sol_int(d->dup, SOL_SOCKET, SO_PROTOCOL, &proto) < 0)
		return 0;
	return proto == NETLINK_ROUTE || proto == NETLINK_KOBJECT_UEVENT;
}

static int dump_groups(int fd, struct cr_file *f)
{
	uint32_t words[NL_GROUPS_MAX / 32 * 4] = { 0 };
	socklen_t len = sizeof(words);

	if (getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, words, &len) < 0)
		return err_sys("NETLINK_LIST_MEMBERSHIPS");
	if (len > sizeof(words))
		return err_set("netlink socket with %u bytes of groups", (unsigned)len);
	for (size_t i = NL_GROUPS_MAX / 32; i < len / 4; i++)
		if (words[i])
			return err_set("netlink group above %d joined (unsupported)",
				       NL_GROUPS_MAX);
	f->nl.groups[0] = words[0] | (uint64_t)words[1] << 32;
	f->nl.groups[1] = words[2] | (uint64_t)words[3] << 32;
	return 0;
}

static int dump_opts(int fd, struct cr_file *f)
{
	int v;

	for (size_t i = 0; i < NR_BOOL_OPTS; i++) {
		if (sol_int(fd, SOL_NETLINK, bool_opts[i], &v) < 0)
			return -1;
		if (v)
			f->nl.opts |= 1u << bool_opts[i];
	}
	if (sol_int(fd, SOL_SOCKET, SO_RCVBUF, &v) < 0)
		return -1;
	f->nl.rcvbuf = (uint64_t)v;
	if (sol_int(fd, SOL_SOCKET, SO_SNDBUF, &v) < 0)
		return -1;
	f->nl.sndbuf = (uint64_t)v;
	return 0;
}

static int dump_addrs(int fd, struct cr_file *f)
{
	struct sockaddr_nl sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return err_sys("getsockname");
	f->nl.portid = sa.nl_pid;
	len = sizeof(sa);
	if (getpeername(fd, (struct sockaddr *)&sa, &len) < 0)
		return err_sys("getpeername");
	f->nl.dst_portid = sa.nl_pid;
	f->nl.dst_group = (uint32_t)__builtin_ffs((int)sa.nl_groups);
	return 0;
}

static int nl_dump(struct dump_files *df, const struct fd_dump *d, struct cr_file *f)
{
	int v;

	(void)df;
	f->pos = 0;
	if (sol_int(d->dup, SOL_SOCKET, SO_PROTOCOL, &v) < 0)
		return -1;
	f->nl.protocol = (uint32_t)v;
	if (sol_int(d->dup, SOL_SOCKET, SO_TYPE, &v) < 0)
		return -1;
	f->nl.type = (uint32_t)v;
	if (dump_addrs(d->dup, f) < 0 || dump_groups(d->dup, f) < 0 || dump_opts(d->dup, f) < 0)
		return -1;
	return 0;
}

/* ---- restore ---- */

/* The socket gets its old port id back: programs keep it (dnsmasq drops
 * every reply not addressed to the id it read at start). */
static int bind_groups(int fd, const struct cr_file *f)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_pid = f->nl.portid,
				  .nl_groups = (uint32_t)f->nl.groups[0] };

	if ((f->nl.portid || f->nl.groups[0] || f->nl.groups[1]) &&
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EADDRINUSE)
			return err_set("netlink port id %u is taken in this network namespace",
				       f->nl.portid);
		return err_sys("bind netlink port id %u groups 0x%x", f->nl.portid,
			       sa.nl_groups);
	}
	for (int g = 33; g <= NL_GROUPS_MAX; g++) {
		if (!(f->nl.groups[(g - 1) / 64] & (1ull << ((g - 1) % 64))))
			continue;
		if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) < 0)
			return err_sys("join netlink group %d", g);
	}
	return 0;
}

static int set_buf(int fd, int opt, int force, uint64_t want)
{
	int cur, v = (int)(want / 2);

	if (sol_int(fd, SOL_SOCKET, opt, &cur) < 0)
		return -1;
	if ((uint64_t)cur != want && setsockopt(fd, SOL_SOCKET, force, &v, sizeof(v)) < 0)
		return err_sys("setsockopt %d = %d", force, v);
	return 0;
}

static int set_opts(int fd, const struct cr_file *f)
{
	int one = 1;

	for (size_t i = 0; i < NR_BOOL_OPTS; i++)
		if ((f->nl.opts & (1u << bool_opts[i])) &&
		    setsockopt(fd, SOL_NETLINK, bool_opts[i], &one, sizeof(one)) < 0)
			return err_sys("netlink option %d", bool_opts[i]);
	if (set_buf(fd, SO_RCVBUF, SO_RCVBUFFORCE, f->nl.rcvbuf) < 0 ||
	    set_buf(fd, SO_SNDBUF, SO_SNDBUFFORCE, f->nl.sndbuf) < 0)
		return -1;
	return 0;
}

static int connect_dst(int fd, const struct cr_file *f)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_pid = f->nl.dst_portid };

	if (!f->nl.dst_portid && !f->nl.dst_group)
		return 0;
	if (f->nl.dst_group)
		sa.nl_groups = 1u << (f->nl.dst_group - 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return err_sys("connect netlink to port %u group %u", f->nl.dst_portid,
			       f->nl.dst_group);
	return 0;
}

static int nl_open(struct rst_files *rf, uint32_t id)
{
	const struct cr_file *f = &files_rimage(rf)->files[id];
	int fd = socket(AF_NETLINK, (int)f->nl.type | SOCK_CLOEXEC, (int)f->nl.protocol);

	if (fd < 0)
		return err_sys("socket AF_NETLINK type %u protocol %u", f->nl.type,
			       f->nl.protocol);
	if (bind_groups(fd, f) < 0 || set_opts(fd, f) < 0 || connect_dst(fd, f) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

const struct file_ops file_netlink_ops = {
	.kind = CR_FILE_NETLINK,
	.name = "netlink socket",
	.match = nl_match,
	.dump = nl_dump,
	.open = nl_open,
};

/*
 * sock_diag.c - ask inet_diag about a listening TCP socket (sock_diag.h).
 *
 * A dump of every TCP socket of the family in LISTEN state is requested
 * and scanned for the inode; for a listener idiag_wqueue is the maximum
 * backlog (sk_max_ack_backlog) and idiag_rqueue the connections waiting.
 */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/sock_diag.h"

#define RECV_BUF 32768

struct diag_request {
	struct nlmsghdr nh;
	struct inet_diag_req_v2 req;
};

static int send_request(int nl, int family)
{
	struct diag_request r;
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };

	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = sizeof(r);
	r.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	r.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	r.nh.nlmsg_seq = 1;
	r.req.sdiag_family = (uint8_t)family;
	r.req.sdiag_protocol = IPPROTO_TCP;
	r.req.idiag_states = 1u << TCP_LISTEN;
	if (sendto(nl, &r, sizeof(r), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return err_sys("sock_diag: send request");
	return 0;
}

/* Scan one datagram; 1: found, 0: go on, 2: end of dump, -1: error. */
static int scan(const void *buf, size_t len, uint64_t ino, uint32_t *backlog)
{
	const struct nlmsghdr *nh;

	for (nh = buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
		const struct inet_diag_msg *m = NLMSG_DATA(nh);

		if (nh->nlmsg_type == NLMSG_DONE)
			return 2;
		if (nh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(nh);

			errno = -e->error;
			return err_sys("sock_diag: kernel answered");
		}
		if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
			return err_set("sock_diag: short message");
		if (m->idiag_inode == ino) {
			*backlog = m->idiag_wqueue;
			return 1;
		}
	}
	return 0;
}

static int read_answers(int nl, uint64_t ino, uint32_t *backlog)
{
	static __thread char buf[RECV_BUF];

	for (;;) {
		ssize_t n = recv(nl, buf, sizeof(buf), 0);
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys("sock_diag: receive");
		if (n == 0)
			return err_set("sock_diag: unexpected end");
		rc = scan(buf, (size_t)n, ino, backlog);
		if (rc < 0 || rc == 1)
			return rc < 0 ? -1 : 0;   /* the rest is dropped with nl */
		if (rc == 2)
			break;
	}
	return err_set("sock_diag: listening socket inode %llu not found",
				   (unsigned long long)ino);
}

int sock_diag_tcp_backlog(int family, uint64_t ino, uint32_t *backlog)
{
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	int rc;

	if (nl < 0)
		return err_sys("socket NETLINK_SOCK_DIAG");
	rc = send_request(nl, family);
	if (rc == 0)
		rc = read_answers(nl, ino, backlog);
	close(nl);
	return rc;
}

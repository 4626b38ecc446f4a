/*
 * sock_diag.c - ask the kernel's NETLINK_SOCK_DIAG about sockets
 * (sock_diag.h): inet_diag for a listening TCP socket's backlog and for
 * the socket that has a connection's addresses (destroyed with SOCK_DESTROY
 * when it is a leftover), unix_diag for a unix socket's state, peer, queue
 * lengths and shutdown bits, and for the unix sockets bound to a path's
 * inode.
 *
 * One helper sends a request and feeds every answer message to a
 * callback until the callback says it is done, the dump ends (NLMSG_DONE)
 * or the kernel answers an error.  For a TCP listener idiag_wqueue is the
 * maximum backlog (sk_max_ack_backlog); for a unix listener udiag_wqueue
 * is, and for other unix sockets the attributes carry the rest.
 */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/sock_diag.h"

#define RECV_BUF 32768

/* Called per answer: 1 = done (stop), 0 = go on, -1 = error (err_set). */
typedef int (*diag_cb)(const struct nlmsghdr *nh, void *arg);

static int send_request(int nl, uint16_t type, uint16_t flags, const void *req, size_t len)
{
	struct {
		struct nlmsghdr nh;
		uint8_t body[64];
	} r;
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };

	memset(&r, 0, sizeof(r));
	memcpy(r.body, req, len);
	r.nh.nlmsg_len = (uint32_t)NLMSG_LENGTH(len);
	r.nh.nlmsg_type = type;
	r.nh.nlmsg_flags = NLM_F_REQUEST | flags;
	r.nh.nlmsg_seq = 1;
	if (sendto(nl, &r, r.nh.nlmsg_len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return err_sys("sock_diag: send request");
	return 0;
}

/* Scan one datagram; 1: callback done, 0: go on, 2: end of dump, -1: error. */
static int scan(const void *buf, size_t len, diag_cb cb, void *arg)
{
	const struct nlmsghdr *nh;

	for (nh = buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
		int rc;

		if (nh->nlmsg_type == NLMSG_DONE)
			return 2;
		if (nh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(nh);

			if (e->error == 0)
				return 1;      /* the acknowledgment of a request */
			errno = -e->error;
			return err_sys("sock_diag: kernel answered");
		}
		rc = cb(nh, arg);
		if (rc)
			return rc;
	}
	return 0;
}

static int read_answers(int nl, diag_cb cb, void *arg)
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
		rc = scan(buf, (size_t)n, cb, arg);
		if (rc < 0)
			return -1;
		if (rc)
			return rc;     /* the rest is dropped with nl */
	}
}

/* Send req (a *_diag_req) and run cb on the answers; 1: cb done, 2: end. */
static int diag_request(uint16_t type, uint16_t flags, const void *req, size_t len,
			diag_cb cb, void *arg)
{
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	int rc;

	if (nl < 0)
		return err_sys("socket NETLINK_SOCK_DIAG");
	rc = send_request(nl, type, flags, req, len);
	if (rc == 0)
		rc = read_answers(nl, cb, arg);
	close(nl);
	return rc;
}

static int diag_query(uint16_t flags, const void *req, size_t len, diag_cb cb, void *arg)
{
	return diag_request(SOCK_DIAG_BY_FAMILY, flags, req, len, cb, arg);
}

/* ---- inet ---- */

struct tcp_find {
	uint64_t ino;
	uint32_t *backlog;
};

static int tcp_cb(const struct nlmsghdr *nh, void *arg)
{
	const struct inet_diag_msg *m = NLMSG_DATA(nh);
	struct tcp_find *t = arg;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return err_set("sock_diag: short message");
	if (m->idiag_inode != t->ino)
		return 0;
	*t->backlog = m->idiag_wqueue;
	return 1;
}

int sock_diag_tcp_backlog(int family, uint64_t ino, uint32_t *backlog)
{
	struct inet_diag_req_v2 req;
	struct tcp_find t = { ino, backlog };
	int rc;

	memset(&req, 0, sizeof(req));
	req.sdiag_family = (uint8_t)family;
	req.sdiag_protocol = IPPROTO_TCP;
	req.idiag_states = 1u << TCP_LISTEN;
	rc = diag_query(NLM_F_DUMP, &req, sizeof(req), tcp_cb, &t);
	if (rc == 2)
		return err_set("sock_diag: listening socket inode %llu not found",
			       (unsigned long long)ino);
	return rc < 0 ? -1 : 0;
}

/* The exact-match request for the TCP socket local -> peer. */
static void tcp_exact_req(const struct sockaddr *local, const struct sockaddr *peer,
			  struct inet_diag_req_v2 *req)
{
	memset(req, 0, sizeof(*req));
	req->sdiag_family = (uint8_t)local->sa_family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = ~0u;
	req->id.idiag_cookie[0] = req->id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	if (local->sa_family == AF_INET) {
		const struct sockaddr_in *l = (const void *)local, *p = (const void *)peer;

		req->id.idiag_sport = l->sin_port;
		req->id.idiag_dport = p->sin_port;
		memcpy(req->id.idiag_src, &l->sin_addr, 4);
		memcpy(req->id.idiag_dst, &p->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *l = (const void *)local, *p = (const void *)peer;

		req->id.idiag_sport = l->sin6_port;
		req->id.idiag_dport = p->sin6_port;
		memcpy(req->id.idiag_src, &l->sin6_addr, 16);
		memcpy(req->id.idiag_dst, &p->sin6_addr, 16);
		req->id.idiag_if = l->sin6_scope_id;
	}
}

struct tcp_holder {
	int found;
	uint64_t ino;
	uint8_t state;
	uint32_t cookie[2];
};

static int holder_cb(const struct nlmsghdr *nh, void *arg)
{
	const struct inet_diag_msg *m = NLMSG_DATA(nh);
	struct tcp_holder *h = arg;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return err_set("sock_diag: short message");
	h->found = 1;
	h->ino = m->idiag_inode;
	h->state = m->idiag_state;
	memcpy(h->cookie, m->id.idiag_cookie, sizeof(h->cookie));
	return 1;
}

static int ack_cb(const struct nlmsghdr *nh, void *arg)
{
	(void)nh;
	(void)arg;
	return 0;      /* only the acknowledgment ends the answer */
}

/* After a failed request: the kernel found no such socket (ENOENT), which
 * is no error here; the error is cleared. */
static int gone_meanwhile(void)
{
	if (errno != ENOENT)
		return 0;
	err_clear();
	return 1;
}

int sock_diag_tcp_evict(const struct sockaddr *local, const struct sockaddr *peer)
{
	struct inet_diag_req_v2 req;
	struct tcp_holder h = { 0 };
	int rc;

	tcp_exact_req(local, peer, &req);
	rc = diag_query(0, &req, sizeof(req), holder_cb, &h);
	if (rc < 0)
		return gone_meanwhile() ? 0 : -1;
	if (!h.found)
		return 0;
	if (h.ino)
		return err_set("a live socket (inode %llu, state %u) has these addresses: "
			       "is this image running already?", (unsigned long long)h.ino,
			       h.state);
	memcpy(req.id.idiag_cookie, h.cookie, sizeof(h.cookie));
	rc = diag_request(SOCK_DESTROY, NLM_F_ACK, &req, sizeof(req), ack_cb, NULL);
	if (rc < 0 && !gone_meanwhile())
		return err_wrap("destroy the leftover socket (state %u)", h.state);
	return 0;
}

/* ---- unix ---- */

static void unix_attr(struct sock_diag_unix *u, const struct nlattr *a)
{
	const void *p = (const char *)a + NLA_HDRLEN;
	size_t len = a->nla_len - NLA_HDRLEN;
	struct unix_diag_rqlen rq;
	struct unix_diag_vfs vfs;
	uint32_t v;

	switch (a->nla_type) {
	case UNIX_DIAG_PEER:
		if (len < 4)
			break;
		memcpy(&v, p, 4);
		u->has_peer = 1;
		u->peer_ino = v;
		break;
	case UNIX_DIAG_RQLEN:
		if (len < sizeof(rq))
			break;
		memcpy(&rq, p, sizeof(rq));
		u->rqueue = rq.udiag_rqueue;
		u->wqueue = rq.udiag_wqueue;
		break;
	case UNIX_DIAG_SHUTDOWN:
		if (len >= 1)
			u->shutdown = *(const uint8_t *)p;
		break;
	case UNIX_DIAG_VFS:
		if (len < sizeof(vfs))
			break;
		memcpy(&vfs, p, sizeof(vfs));
		u->vfs_ino = vfs.udiag_vfs_ino;
		u->vfs_dev = vfs.udiag_vfs_dev;
		break;
	}
}

static int unix_parse(const struct nlmsghdr *nh, struct sock_diag_unix *u)
{
	const struct unix_diag_msg *m = NLMSG_DATA(nh);
	size_t off = NLMSG_ALIGN(sizeof(*m)), len;
	const uint8_t *p = NLMSG_DATA(nh);

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return err_set("sock_diag: short unix message");
	memset(u, 0, sizeof(*u));
	u->ino = m->udiag_ino;
	u->type = m->udiag_type;
	u->state = m->udiag_state;
	len = nh->nlmsg_len - NLMSG_HDRLEN;
	while (off + NLA_HDRLEN <= len) {
		const struct nlattr *a = (const struct nlattr *)(p + off);

		if (a->nla_len < NLA_HDRLEN || off + a->nla_len > len)
			break;
		unix_attr(u, a);
		off += NLA_ALIGN(a->nla_len);
	}
	return 0;
}

static int unix_one_cb(const struct nlmsghdr *nh, void *arg)
{
	return unix_parse(nh, arg) < 0 ? -1 : 1;
}

int sock_diag_unix(uint64_t ino, struct sock_diag_unix *u)
{
	struct unix_diag_req req;

	memset(&req, 0, sizeof(req));
	req.sdiag_family = AF_UNIX;
	req.udiag_states = ~0u;
	req.udiag_ino = (uint32_t)ino;
	req.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_VFS;
	req.udiag_cookie[0] = req.udiag_cookie[1] = INET_DIAG_NOCOOKIE;
	if (diag_query(0, &req, sizeof(req), unix_one_cb, u) != 1)
		return err_wrap("unix socket inode %llu", (unsigned long long)ino);
	return 0;
}

struct bound_find {
	uint64_t vfs_ino;
	uint64_t ino;                  /* the socket found, 0: none */
};

static int bound_cb(const struct nlmsghdr *nh, void *arg)
{
	struct bound_find *b = arg;
	struct sock_diag_unix u;

	if (unix_parse(nh, &u) < 0)
		return -1;
	if (u.vfs_ino != b->vfs_ino)
		return 0;
	b->ino = u.ino;
	return 1;
}

int sock_diag_unix_bound(uint64_t vfs_ino, uint64_t *sock_ino)
{
	struct unix_diag_req req;
	struct bound_find b = { vfs_ino, 0 };

	memset(&req, 0, sizeof(req));
	req.sdiag_family = AF_UNIX;
	req.udiag_states = ~0u;
	req.udiag_show = UDIAG_SHOW_VFS;
	if (diag_query(NLM_F_DUMP, &req, sizeof(req), bound_cb, &b) < 0)
		return err_wrap("unix sockets bound to inode %llu", (unsigned long long)vfs_ino);
	*sock_ino = b.ino;
	return 0;
}

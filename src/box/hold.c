/*
 * hold.c - the first-packet hold: packets for an asleep box wait in the
 * kernel while the box is woken and its app restored (hold.h).
 *
 * The mechanism.  This kernel has no nftables `queue` expression
 * (CONFIG_NFT_QUEUE is off) but has the xtables NFQUEUE target and
 * nftables' compat expression (CONFIG_NFT_COMPAT), which runs an xtables
 * target from an nftables rule.  The nft tool cannot write such a rule,
 * so it is built here with libnftnl, in a table of picocenter's own,
 * `ip picocenter_hold`, beside `ip picocenter` (nft marks a table with
 * compat expressions "managed by iptables-nft" when it lists it, so the
 * box's own rules stay apart, plain nftables):
 *
 *     set   hold_Q { type ipv4_addr; }       the asleep boxes' addresses
 *     chain hold_Q { type filter hook postrouting priority filter; }
 *     rule  ip daddr @hold_Q counter xt target NFQUEUE (num Q, rev 3)
 *
 * and its IPv6 twin in `ip6 picocenter_hold`: a box's IPv6 address is its
 * subnet6 with the IPv4 address as the last 32 bits (addr6.c), so the set
 * there holds the same IPv4 addresses and the rule matches IPv6
 * destinations whose interface id is ::A.B.C.D with A.B.C.D in the set
 * (bits 64-95 zero, bits 96-127 looked up):
 *
 *     rule  ip6 daddr[64:96] == 0 ip6 daddr[96:128] @hold_Q counter xt target NFQUEUE
 *
 * Postrouting sees both paths after the published ports' DNAT (prerouting
 * for forwarded packets, output for the host's own, 127.0.0.1 included)
 * and before the neighbour lookup that would fail (the box's veth is
 * gone).  No other rule on the host is touched.  The reader (libmnl on
 * NETLINK_NETFILTER) copies 64 bytes of each packet (the IPv4 or IPv6
 * header: its destination names the box by its IPv4 address; and the
 * ports, for the log) and gives each its verdict later: NF_ACCEPT
 * sends it on from the next hook (source NAT, conntrack, the neighbour of
 * the woken box).
 *
 * No bypass flag: while no reader has the queue (a daemon restarting),
 * the kernel drops the packets for armed addresses, the client
 * retransmits (TCP after 1 s, a resolver after its timeout) and the next
 * reader holds the retransmit.  With bypass the packet would go on to a
 * neighbour that never answers, and the client would get "host
 * unreachable" 3 s later.  No fail-open either: a full queue (1024
 * packets) drops, like a full backlog.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "box/box_int.h"
#include "box/hold.h"
#include "common/err.h"

#define HOLD_TABLE "picocenter_hold"
#define HOLD_COPY 64            /* bytes of each packet: IP header, ports */
#define HOLD_RCVBUF (1 << 20)

/* ---- the queue's rule ---- */

static void addr_text(uint32_t a, char *buf)
{
	inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* The queue's set (made and removed with its chain) is there.  Not the
 * chain listed: libnftables leaks when it lists an xt expression. */
static int chain_exists(int queue)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "list set ip picocenter_hold hold_%d", queue);
	return nft_run(cmd, 1) == 0;
}

/* The table, queue's set and its base chain (idempotent). */
static int make_set_and_chain(int queue)
{
	char cmds[1024];
	size_t off = 0;

	for (int i = 0; i < 2; i++) {
		const char *fam = i ? "ip6" : "ip";

		off += (size_t)snprintf(cmds + off, sizeof(cmds) - off,
			 "add table %s picocenter_hold\n"
			 "add set %s picocenter_hold hold_%d { type ipv4_addr; }\n"
			 "add chain %s picocenter_hold hold_%d { type filter hook postrouting priority filter; policy accept; }\n",
			 fam, fam, queue, fam, queue);
	}
	return nft_run(cmds, 0);
}

static int add_expr(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return err_set("nftnl: out of memory");
	nftnl_rule_add_expr(r, e);
	return 0;
}

static struct nftnl_expr *payload_expr(uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	}
	return e;
}

/* IPv6 only: bits 64-95 of the destination are zero. */
static int add_iid_zero(struct nftnl_rule *r)
{
	uint32_t zero = 0;
	struct nftnl_expr *e;

	if (add_expr(r, payload_expr(32, 4)) < 0)
		return -1;
	e = nftnl_expr_alloc("cmp");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, &zero, sizeof(zero));
	}
	return add_expr(r, e);
}

/* ip daddr @hold_Q counter xt target NFQUEUE num Q; in family
 * NFPROTO_IPV6 the last 32 bits of the destination, after add_iid_zero. */
static struct nftnl_rule *queue_rule(int queue, int family)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct xt_NFQ_info_v3 *info = calloc(1, sizeof(*info));
	struct nftnl_expr *e;
	char set[32], chain[32];

	if (!r || !info) {
		free(info);
		nftnl_rule_free(r);
		err_set("nftnl: out of memory");
		return NULL;
	}
	snprintf(set, sizeof(set), "hold_%d", queue);
	snprintf(chain, sizeof(chain), "hold_%d", queue);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, (uint32_t)family);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, HOLD_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);

	if (family == NFPROTO_IPV6 && add_iid_zero(r) < 0)
		goto fail;
	if (add_expr(r, payload_expr(family == NFPROTO_IPV6 ? 36 : 16, 4)) < 0)
		goto fail;
	e = nftnl_expr_alloc("lookup");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	}
	if (add_expr(r, e) < 0 || add_expr(r, nftnl_expr_alloc("counter")) < 0)
		goto fail;
	e = nftnl_expr_alloc("target");
	if (e) {
		info->queuenum = (uint16_t)queue;
		info->queues_total = 1;
		nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "NFQUEUE");
		nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, 3);
		nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, info, sizeof(*info)); /* owns info */
		info = NULL;
	}
	if (add_expr(r, e) < 0)
		goto fail;
	return r;
fail:
	free(info);
	nftnl_rule_free(r);
	return NULL;
}

/* Send one nf_tables batch and wait for the kernel's answer. */
static int nft_batch_send(struct mnl_nlmsg_batch *b)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned portid;
	int rc;

	if (!nl)
		return err_sys("nftnl: netlink socket");
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(nl);
		return err_sys("nftnl: bind");
	}
	portid = mnl_socket_get_portid(nl);
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b)) < 0) {
		mnl_socket_close(nl);
		return err_sys("nftnl: send");
	}
	do {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		rc = n < 0 ? -1 : mnl_cb_run(buf, (size_t)n, 0, portid, NULL, NULL);
	} while (rc > 0);
	mnl_socket_close(nl);
	return rc < 0 ? err_sys("nftnl: rule") : 0;
}

/* Add to batch b: flush queue's chain in family and add its one rule. */
static int batch_rule(struct mnl_nlmsg_batch *b, int queue, int family, uint32_t *seq)
{
	struct nftnl_rule *flush = nftnl_rule_alloc(), *r = queue_rule(queue, family);
	struct nlmsghdr *nlh;
	char chain[32];

	if (!flush || !r) {
		nftnl_rule_free(flush);
		nftnl_rule_free(r);
		return r ? err_set("nftnl: out of memory") : -1;
	}
	snprintf(chain, sizeof(chain), "hold_%d", queue);
	nftnl_rule_set_u32(flush, NFTNL_RULE_FAMILY, (uint32_t)family);
	nftnl_rule_set_str(flush, NFTNL_RULE_TABLE, HOLD_TABLE);
	nftnl_rule_set_str(flush, NFTNL_RULE_CHAIN, chain);
	nlh = nftnl_rule_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), NFT_MSG_DELRULE,
					 (uint16_t)family, 0, (*seq)++);
	nftnl_rule_nlmsg_build_payload(nlh, flush);
	mnl_nlmsg_batch_next(b);
	nlh = nftnl_rule_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), NFT_MSG_NEWRULE,
					 (uint16_t)family, NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK,
					 (*seq)++);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	mnl_nlmsg_batch_next(b);
	nftnl_rule_free(flush);
	nftnl_rule_free(r);
	return 0;
}

/* Flush queue's chains and add their rules (IPv4, IPv6), in one
 * transaction. */
static int make_rule(int queue)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, sizeof(buf));
	uint32_t seq = (uint32_t)time(NULL);
	int rc;

	if (!b)
		return err_set("nftnl: out of memory");
	nftnl_batch_begin(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);
	if (batch_rule(b, queue, NFPROTO_IPV4, &seq) < 0 ||
	    batch_rule(b, queue, NFPROTO_IPV6, &seq) < 0) {
		mnl_nlmsg_batch_stop(b);
		return -1;
	}
	nftnl_batch_end(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);
	rc = nft_batch_send(b);
	mnl_nlmsg_batch_stop(b);
	return rc;
}

/* The IPv6 chain may be missing (a queue a daemon of a version without
 * IPv6 made): removed on its own, quietly. */
int hold_remove(int queue)
{
	char cmds[256];

	if (!chain_exists(queue))
		return 0;
	snprintf(cmds, sizeof(cmds),
		 "delete chain ip6 picocenter_hold hold_%d\ndelete set ip6 picocenter_hold hold_%d\n",
		 queue, queue);
	nft_run(cmds, 1);
	snprintf(cmds, sizeof(cmds),
		 "delete chain ip picocenter_hold hold_%d\ndelete set ip picocenter_hold hold_%d\n",
		 queue, queue);
	if (nft_run(cmds, 0) < 0)
		return err_wrap("remove hold queue %d", queue);
	return 0;
}

/* The address in both families' sets: one transaction. */
static int set_element(int queue, uint32_t addr, const char *verb, int quiet)
{
	char cmd[320], a[INET_ADDRSTRLEN];

	addr_text(addr, a);
	snprintf(cmd, sizeof(cmd),
		 "%s element ip picocenter_hold hold_%d { %s }\n"
		 "%s element ip6 picocenter_hold hold_%d { %s }\n", verb, queue, a, verb, queue, a);
	if (nft_run(cmd, 1) == 0)
		return 0;
	/* one family's set or element is missing (a queue made before IPv6,
	 * an element already gone): each on its own */
	snprintf(cmd, sizeof(cmd), "%s element ip6 picocenter_hold hold_%d { %s }", verb, queue, a);
	nft_run(cmd, 1);
	snprintf(cmd, sizeof(cmd), "%s element ip picocenter_hold hold_%d { %s }", verb, queue, a);
	return nft_run(cmd, quiet);
}

int hold_arm(int queue, uint32_t addr)
{
	char a[INET_ADDRSTRLEN];

	if (set_element(queue, addr, "add", 0) < 0) {
		addr_text(addr, a);
		return err_wrap("hold packets for %s", a);
	}
	return 0;
}

int hold_disarm(int queue, uint32_t addr)
{
	set_element(queue, addr, "delete", 1);
	return 0;
}

/* ---- the queue's reader ---- */

static struct nlmsghdr *queue_msg(char *buf, int type, int queue, uint8_t family)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;

	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | (unsigned)type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = htons((uint16_t)queue);
	return nlh;
}

/* Send a message that asks for an ACK and read the answer. */
static int queue_talk(struct mnl_socket *nl, struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned portid = mnl_socket_get_portid(nl);
	ssize_t n;
	int rc;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -1;
	rc = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, NULL, NULL);
	return rc < 0 ? -1 : 0;
}

static int queue_bind(struct mnl_socket *nl, int queue)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nfqnl_msg_config_cmd cmd = { .command = NFQNL_CFG_CMD_BIND, .pf = htons(AF_INET) };
	struct nfqnl_msg_config_params params = { .copy_range = htonl(HOLD_COPY),
						  .copy_mode = NFQNL_COPY_PACKET };
	struct nlmsghdr *nlh;

	nlh = queue_msg(buf, NFQNL_MSG_CONFIG, queue, AF_UNSPEC);
	mnl_attr_put(nlh, NFQA_CFG_CMD, sizeof(cmd), &cmd);
	if (queue_talk(nl, nlh) < 0)
		return err_sys("bind netfilter queue %d", queue);
	nlh = queue_msg(buf, NFQNL_MSG_CONFIG, queue, AF_UNSPEC);
	mnl_attr_put(nlh, NFQA_CFG_PARAMS, sizeof(params), &params);
	if (queue_talk(nl, nlh) < 0)
		return err_sys("configure netfilter queue %d", queue);
	return 0;
}

static int reader_open(struct box_hold *h, int queue)
{
	int sz = HOLD_RCVBUF;

	memset(h, 0, sizeof(*h));
	h->queue = queue;
	h->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!h->nl)
		return err_sys("netfilter queue socket");
	if (mnl_socket_bind(h->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(h->nl);
		h->nl = NULL;
		return err_sys("bind netfilter queue socket");
	}
	/* best effort: a bigger buffer loses fewer notifications in a burst */
	setsockopt(mnl_socket_get_fd(h->nl), SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (queue_bind(h->nl, queue) < 0) {
		mnl_socket_close(h->nl);
		h->nl = NULL;
		return -1;
	}
	return 0;
}

static int set_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return err_sys("fcntl O_NONBLOCK");
	return 0;
}

int hold_open(struct box_hold *h, int queue)
{
	if (queue < 0 || queue > 65535)
		return err_set("hold: queue %d out of range", queue);
	if (reader_open(h, queue) < 0)
		return -1;
	if (set_nonblocking(mnl_socket_get_fd(h->nl)) < 0 || make_set_and_chain(queue) < 0 ||
	    make_rule(queue) < 0) {
		err_wrap("hold queue %d", queue);
		hold_close(h);
		return -1;
	}
	return 0;
}

int hold_open_free(struct box_hold *h)
{
	for (int q = HOLD_QUEUE_FIRST; q <= HOLD_QUEUE_LAST; q++) {
		if (chain_exists(q))
			continue;
		if (reader_open(h, q) < 0) {
			if (errno == EBUSY)
				continue;
			return -1;
		}
		hold_close(h);
		return hold_open(h, q);
	}
	return err_set("hold: every queue in %d..%d is taken", HOLD_QUEUE_FIRST,
		       HOLD_QUEUE_LAST);
}

int hold_fd(const struct box_hold *h)
{
	return mnl_socket_get_fd(h->nl);
}

void hold_close(struct box_hold *h)
{
	if (h->nl)
		mnl_socket_close(h->nl);
	free(h->held);
	memset(h, 0, sizeof(*h));
}

static int remember(struct box_hold *h, const struct hold_packet *pk)
{
	if (h->nr_held == h->cap_held) {
		int cap = h->cap_held ? 2 * h->cap_held : 64;
		struct hold_packet *p = realloc(h->held, (size_t)cap * sizeof(*p));

		if (!p)
			return err_set("hold: out of memory");
		h->held = p;
		h->cap_held = cap;
	}
	h->held[h->nr_held++] = *pk;
	return 0;
}

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, NFQA_MAX) > 0)
		tb[type] = a;
	return MNL_CB_OK;
}

/* The box (its IPv4 address: the last 32 bits of an IPv6 destination),
 * source and ports of a queued IPv4 or IPv6 packet; -1 if it is neither. */
static int parse_ip(const uint8_t *ip, size_t len, struct hold_packet *pk)
{
	size_t hl;

	if ((ip[0] >> 4) == 4) {
		hl = (size_t)(ip[0] & 15) * 4;
		if (hl < 20)
			return -1;
		memcpy(&pk->addr, ip + 16, 4);
		memcpy(&pk->saddr, ip + 12, 4);
		pk->proto = ip[9];
	} else if ((ip[0] >> 4) == 6 && len >= 40) {
		hl = 40;
		memcpy(&pk->addr, ip + 36, 4);
		memcpy(pk->saddr6, ip + 8, 16);
		pk->v6 = 1;
		pk->proto = ip[6];   /* extension headers: no ports */
	} else {
		return -1;
	}
	if ((pk->proto == IPPROTO_TCP || pk->proto == IPPROTO_UDP) && len >= hl + 4) {
		pk->sport = (uint16_t)(ip[hl] << 8 | ip[hl + 1]);
		pk->dport = (uint16_t)(ip[hl + 2] << 8 | ip[hl + 3]);
	}
	return 0;
}

/* One queued packet: validated (the kernel's message, but checked all the
 * same) and remembered; its destination goes to addrs once. */
static int packet_cb(const struct nlmsghdr *nlh, void *data)
{
	void **args = data;
	struct box_hold *h = args[0];
	uint32_t *addrs = args[1];
	int *nr = args[2], max = *(int *)args[3];
	const struct nlattr *tb[NFQA_MAX + 1] = { 0 };
	const struct nfqnl_msg_packet_hdr *ph;
	const uint8_t *ip;
	struct hold_packet pk = { 0 };
	uint32_t addr;
	size_t len;

	if ((nlh->nlmsg_type & 0xff) != NFQNL_MSG_PACKET)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, tb) < 0 ||
	    !tb[NFQA_PACKET_HDR] || !tb[NFQA_PAYLOAD] ||
	    mnl_attr_get_payload_len(tb[NFQA_PACKET_HDR]) < sizeof(*ph) ||
	    mnl_attr_get_payload_len(tb[NFQA_PAYLOAD]) < 20)
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(tb[NFQA_PACKET_HDR]);
	ip = mnl_attr_get_payload(tb[NFQA_PAYLOAD]);
	len = mnl_attr_get_payload_len(tb[NFQA_PAYLOAD]);
	if (parse_ip(ip, len, &pk) < 0)
		return MNL_CB_OK;
	pk.id = ntohl(ph->packet_id);
	addr = pk.addr;
	if (remember(h, &pk) < 0)
		return MNL_CB_ERROR;
	for (int i = 0; i < *nr; i++)
		if (addrs[i] == addr)
			return MNL_CB_OK;
	if (*nr < max)
		addrs[(*nr)++] = addr;
	return MNL_CB_OK;
}

int hold_read(struct box_hold *h, uint32_t *addrs, int max)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int nr = 0;
	void *args[4] = { h, addrs, &nr, &max };

	for (;;) {
		ssize_t n = recv(mnl_socket_get_fd(h->nl), buf, sizeof(buf), 0);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return nr;
		if (n < 0 && errno == ENOBUFS)
			continue; /* lost notifications: those clients retransmit */
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys("read netfilter queue %d", h->queue);
		if (mnl_cb_run(buf, (size_t)n, 0, 0, packet_cb, args) < 0 && errno == ENOMEM)
			return -1;
	}
}

static int verdict(struct box_hold *h, uint32_t id, int accept)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nfqnl_msg_verdict_hdr v = { .verdict = htonl(accept ? NF_ACCEPT : NF_DROP),
					   .id = htonl(id) };
	struct nlmsghdr *nlh = queue_msg(buf, NFQNL_MSG_VERDICT, h->queue, AF_UNSPEC);

	mnl_attr_put(nlh, NFQA_VERDICT_HDR, sizeof(v), &v);
	if (mnl_socket_sendto(h->nl, nlh, nlh->nlmsg_len) < 0)
		return err_sys("verdict for packet %u in queue %d", id, h->queue);
	return 0;
}

int hold_release(struct box_hold *h, uint32_t addr, int accept)
{
	int kept = 0, rc = 0;

	for (int i = 0; i < h->nr_held; i++) {
		if (h->held[i].addr != addr) {
			h->held[kept++] = h->held[i];
			continue;
		}
		if (verdict(h, h->held[i].id, accept) < 0)
			rc = -1; /* a packet the kernel no longer has: go on */
	}
	h->nr_held = kept;
	return rc;
}

int hold_count(const struct box_hold *h, uint32_t addr)
{
	int n = 0;

	for (int i = 0; i < h->nr_held; i++)
		n += h->held[i].addr == addr;
	return n;
}

void hold_describe(const struct box_hold *h, uint32_t addr, char *buf, size_t len)
{
	char src[INET6_ADDRSTRLEN + 2];

	buf[0] = '\0';
	for (int i = 0; i < h->nr_held; i++) {
		const struct hold_packet *p = &h->held[i];

		if (p->addr != addr)
			continue;
		if (p->v6) {
			src[0] = '[';
			inet_ntop(AF_INET6, p->saddr6, src + 1, INET6_ADDRSTRLEN);
			strcat(src, "]");
		} else {
			addr_text(p->saddr, src);
		}
		snprintf(buf, len, "%s %s:%u -> :%u",
			 p->proto == IPPROTO_TCP ? "tcp" : p->proto == IPPROTO_UDP ? "udp" : "ip", src,
			 p->sport, p->dport);
		return;
	}
}

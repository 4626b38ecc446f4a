/*
 * nft.c - a box's packet rules, in picocenter's own nftables tables
 * (`table ip picocenter` and `table ip6 picocenter`, made once, see TABLE
 * and TABLE6): the box's addresses in the sets `boxes` and (unless
 * --no-egress) `egress`, and one element per published port and family
 * in the DNAT maps.  A box adds and removes only its own elements; no
 * other rule on the host is touched.  The set `rules` names the table's
 * version: a box's transaction makes the table again only when it is
 * missing or of another version.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box/box_int.h"
#include "common/err.h"
#include "common/timing.h"

#define NFT_LOCK "/run/picocenter/nft.lock"

/* Published ports DNAT traffic for the host's own addresses (127.0.0.1
 * included: output chain, route_localnet on the bridge, masquerade);
 * boxes reach neither each other (bridge port isolation) nor the host
 * (input), and only boxes in `egress` start connections outward.  A box's
 * transaction says it all again when the table is not this version (add
 * is idempotent, the chains are flushed and refilled), so one commit makes
 * the table if it is missing and adds the box's elements. */
static const char TABLE[] =
	"add table ip picocenter\n"
	"add set ip picocenter boxes { type ipv4_addr; }\n"
	"add set ip picocenter egress { type ipv4_addr; }\n"
	"add map ip picocenter dnat_any { type inet_proto . inet_service : ipv4_addr . inet_service; }\n"
	"add map ip picocenter dnat_addr { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }\n"
	"add chain ip picocenter prerouting { type nat hook prerouting priority dstnat; policy accept; }\n"
	"add chain ip picocenter output { type nat hook output priority -100; policy accept; }\n"
	"add chain ip picocenter postrouting { type nat hook postrouting priority srcnat; policy accept; }\n"
	"add chain ip picocenter forward { type filter hook forward priority filter; policy accept; }\n"
	"add chain ip picocenter input { type filter hook input priority filter; policy accept; }\n"
	"flush chain ip picocenter prerouting\n"
	"flush chain ip picocenter output\n"
	"flush chain ip picocenter postrouting\n"
	"flush chain ip picocenter forward\n"
	"flush chain ip picocenter input\n"
	"add rule ip picocenter prerouting fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @dnat_addr\n"
	"add rule ip picocenter prerouting fib daddr type local dnat ip to meta l4proto . th dport map @dnat_any\n"
	"add rule ip picocenter output fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @dnat_addr\n"
	"add rule ip picocenter output fib daddr type local dnat ip to meta l4proto . th dport map @dnat_any\n"
	"add rule ip picocenter postrouting ip saddr 127.0.0.0/8 ip daddr @boxes masquerade\n"
	"add rule ip picocenter postrouting ip saddr @egress ip daddr != @boxes masquerade\n"
	"add rule ip picocenter forward ip saddr @boxes ip saddr != @egress ct state new drop\n"
	"add rule ip picocenter forward ip saddr @boxes ip daddr @boxes ct status ! dnat drop\n"
	"add rule ip picocenter input ip saddr @boxes ct state established,related accept\n"
	"add rule ip picocenter input ip saddr @boxes drop\n";

/* The IPv6 twin of TABLE.  IPv6 has no route_localnet: a connection to
 * [::1] DNATed to a box gets its answer de-NATed to ::1 on the bridge,
 * where the kernel drops it, so ::1 is left alone (refused, not hung).
 * Boxes are told apart by the bridge they come from (its interface group,
 * BOX_IFGROUP, set by rtnl.c), not only by source: a box may use its
 * link-local address.  Neighbour discovery
 * with the host stays allowed; a box reaches another box only through a
 * published port (DNAT). */
#define STR(x) #x
#define XSTR(x) STR(x)
#define IFGROUP "meta iifgroup " XSTR(BOX_IFGROUP)
static const char TABLE6[] =
	"add table ip6 picocenter\n"
	"add set ip6 picocenter boxes { type ipv6_addr; }\n"
	"add set ip6 picocenter egress { type ipv6_addr; }\n"
	"add map ip6 picocenter dnat_any { type inet_proto . inet_service : ipv6_addr . inet_service; }\n"
	"add map ip6 picocenter dnat_addr { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }\n"
	"add chain ip6 picocenter prerouting { type nat hook prerouting priority dstnat; policy accept; }\n"
	"add chain ip6 picocenter output { type nat hook output priority -100; policy accept; }\n"
	"add chain ip6 picocenter postrouting { type nat hook postrouting priority srcnat; policy accept; }\n"
	"add chain ip6 picocenter forward { type filter hook forward priority filter; policy accept; }\n"
	"add chain ip6 picocenter input { type filter hook input priority filter; policy accept; }\n"
	"flush chain ip6 picocenter prerouting\n"
	"flush chain ip6 picocenter output\n"
	"flush chain ip6 picocenter postrouting\n"
	"flush chain ip6 picocenter forward\n"
	"flush chain ip6 picocenter input\n"
	"add rule ip6 picocenter prerouting fib daddr type local dnat ip6 to ip6 daddr . meta l4proto . th dport map @dnat_addr\n"
	"add rule ip6 picocenter prerouting fib daddr type local dnat ip6 to meta l4proto . th dport map @dnat_any\n"
	"add rule ip6 picocenter output ip6 daddr != ::1 fib daddr type local dnat ip6 to ip6 daddr . meta l4proto . th dport map @dnat_addr\n"
	"add rule ip6 picocenter output ip6 daddr != ::1 fib daddr type local dnat ip6 to meta l4proto . th dport map @dnat_any\n"
	"add rule ip6 picocenter postrouting ip6 saddr @egress ip6 daddr != @boxes masquerade\n"
	"add rule ip6 picocenter forward " IFGROUP " ip6 saddr != @egress ct state new drop\n"
	"add rule ip6 picocenter forward " IFGROUP " ip6 daddr @boxes ct status ! dnat drop\n"
	"add rule ip6 picocenter input " IFGROUP " ct state established,related accept\n"
	"add rule ip6 picocenter input " IFGROUP " icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept\n"
	"add rule ip6 picocenter input " IFGROUP " drop\n";

static void addr_str(uint32_t a, char *buf)
{
	inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* The box's address in family 4 or 6, as nft writes it. */
static void box_addr_str(const struct box *b, int family, char *buf)
{
	if (family == 6)
		addr6_text(b->addr6, buf);
	else
		addr_str(b->addr, buf);
}

/* 1 if port p has an element in family 4 or 6 (a port for every address
 * has one in each family of the box). */
static int port_in_family(const struct box *b, const struct box_port *p, int family)
{
	if (family == 6)
		return box_has_ipv6(b) && (p->v6 || !p->host_addr);
	return !p->v6;
}

/* The element of port i in family 4 or 6, in the syntax of `create
 * element` ("ip picocenter dnat_any { ... }"). */
static void port_element(const struct box *b, int i, int family, char *buf, size_t len,
			 int with_value)
{
	const struct box_port *p = &b->cfg.ports[i];
	char host[INET6_ADDRSTRLEN], app[INET6_ADDRSTRLEN], val[80] = "";
	const char *fam = family == 6 ? "ip6" : "ip";

	box_addr_str(b, family, app);
	if (with_value)
		snprintf(val, sizeof(val), " : %s . %u", app, p->app_port);
	if (p->v6 || p->host_addr) {
		if (p->v6)
			addr6_text(p->host_addr6, host);
		else
			addr_str(p->host_addr, host);
		snprintf(buf, len, "%s picocenter dnat_addr { %s . %s . %u%s }", fam, host,
			 p->udp ? "udp" : "tcp", p->host_port, val);
	} else {
		snprintf(buf, len, "%s picocenter dnat_any { %s . %u%s }", fam, p->udp ? "udp" : "tcp",
			 p->host_port, val);
	}
}

/* One nftables context for the process, made at first use and kept:
 * closing the netlink socket of a context that committed a transaction
 * waits until the kernel has released that transaction (an RCU grace
 * period: 9 ms of a box creation's 12-18 ms nftables step, measured
 * here), and a box's removal ran six.  The commands are serialized; the
 * context checks the ruleset's generation before each (others change
 * it too).  A child process never uses its parent's context: children
 * close their fds (the daemon's, src/worker/child.c), so its socket's
 * number may be another file there.  The child drops it without freeing
 * it (which would close that number) and makes its own; fork() waits for
 * a command under way (atfork), and a child made otherwise is known by
 * its pid. */
static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nft_ctx *shared_ctx;
static pid_t ctx_pid;          /* the process shared_ctx belongs to */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
	pthread_mutex_lock(&ctx_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&ctx_lock);
}

static void fork_child(void)
{
	pthread_mutex_init(&ctx_lock, NULL);
	shared_ctx = NULL;
}

static void set_atfork(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* The context, made if missing or not this process's; NULL (err set). */
static struct nft_ctx *own_ctx(void)
{
	if (shared_ctx && ctx_pid == getpid())
		return shared_ctx;
	shared_ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!shared_ctx) {
		err_set("nftables: cannot make a context");
		return NULL;
	}
	ctx_pid = getpid();
	nft_ctx_buffer_output(shared_ctx);
	nft_ctx_buffer_error(shared_ctx);
	return shared_ctx;
}

/* Run cmds; with out, their output is copied there. */
static int nft_run_out(const char *cmds, int quiet, char *out, size_t outlen)
{
	struct nft_ctx *nft;
	const char *e, *o;
	int rc;

	pthread_once(&atfork_once, set_atfork);
	pthread_mutex_lock(&ctx_lock);
	nft = own_ctx();
	if (!nft) {
		pthread_mutex_unlock(&ctx_lock);
		return -1;
	}
	rc = nft_run_cmd_from_buffer(nft, cmds);
	e = nft_ctx_get_error_buffer(nft);      /* both read: each rewinds */
	o = nft_ctx_get_output_buffer(nft);
	if (rc != 0 && !quiet) {
		char line[256];
		size_t n = strcspn(e, "\n");

		snprintf(line, sizeof(line), "%.*s", (int)(n < 200 ? n : 200), e);
		err_set("nftables: %s", line);
	}
	if (out)
		snprintf(out, outlen, "%s", o);
	pthread_mutex_unlock(&ctx_lock);
	return rc ? -1 : 0;
}

int nft_run(const char *cmds, int quiet)
{
	return nft_run_out(cmds, quiet, NULL, 0);
}

/* Delete port i's element in family 4 or 6 only if it still leads to
 * this box (a box that failed to publish a port must not remove another
 * box's). */
static void del_port(const struct box *b, int i, int family)
{
	char cmd[512], el[256], out[4096], want[80], a[INET6_ADDRSTRLEN];

	if (!port_in_family(b, &b->cfg.ports[i], family))
		return;
	port_element(b, i, family, el, sizeof(el), 0);
	snprintf(cmd, sizeof(cmd), "get element %s", el);
	if (nft_run_out(cmd, 1, out, sizeof(out)) < 0)
		return;
	box_addr_str(b, family, a);
	snprintf(want, sizeof(want), ": %s . %u ", a, b->cfg.ports[i].app_port);
	if (!strstr(out, want))
		return;
	snprintf(cmd, sizeof(cmd), "delete element %s", el);
	nft_run(cmd, 1);
}

static int lock_table(void)
{
	int fd;

	if (mkdir("/run/picocenter", 0755) < 0 && access("/run/picocenter", F_OK) < 0)
		return err_sys("mkdir /run/picocenter");
	fd = open(NFT_LOCK, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys("open %s", NFT_LOCK);
	if (flock(fd, LOCK_EX) < 0) {
		close(fd);
		return err_sys("lock %s", NFT_LOCK);
	}
	return fd;
}

/* The version of the table in family 4 or 6: a hash of its text and of
 * whether the forward chain's drop rule is ours (forward.c), kept as the
 * one element of the table's set `rules` (an IPv4 address, or ::V). */
static void rules_version(int family, char *buf)
{
	const char *t = family == 6 ? TABLE6 : TABLE;
	uint32_t h = 2166136261u;   /* FNV-1a */
	uint8_t a6[16] = { 0 };

	for (; *t; t++)
		h = (h ^ (uint8_t)*t) * 16777619u;
	h = (h ^ (uint32_t)(fwd_ours(family) + 1)) * 16777619u;
	if (family == 4) {
		addr_str(htonl(h), buf);
		return;
	}
	for (int i = 0; i < 4; i++)
		a6[12 + i] = (uint8_t)(h >> (24 - 8 * i));
	inet_ntop(AF_INET6, a6, buf, INET6_ADDRSTRLEN);
}

/* The commands that make the table again (whole: every chain flushed and
 * refilled, `rules` set to this version) or, not whole, that fail unless
 * the table is this version (its `rules` element deleted and added back,
 * in the same transaction). */
static size_t table_cmds(int family, int whole, char *cmds, size_t off, size_t len)
{
	const char *fam = family == 6 ? "ip6" : "ip";
	char v[INET6_ADDRSTRLEN];

	rules_version(family, v);
	if (!whole)
		return off + (size_t)snprintf(cmds + off, len - off,
					      "delete element %s picocenter rules { %s }\n"
					      "add element %s picocenter rules { %s }\n",
					      fam, v, fam, v);
	off += (size_t)snprintf(cmds + off, len - off,
				"%sadd set %s picocenter rules { type %s; }\n"
				"flush set %s picocenter rules\n"
				"add element %s picocenter rules { %s }\n",
				family == 6 ? TABLE6 : TABLE, fam,
				family == 6 ? "ipv6_addr" : "ipv4_addr", fam, fam, v);
	if (fwd_ours(family))   /* the host forwards for boxes only (forward.c) */
		off += (size_t)snprintf(cmds + off, len - off,
					"add rule %s picocenter forward %s saddr != @boxes %s daddr != @boxes drop\n",
					fam, fam, fam);
	return off;
}

/* The commands that add the box's elements in family 4 or 6 to cmds,
 * after the table's (whole or checked). */
static size_t add_elements(const struct box *b, int family, int whole, char *cmds, size_t off,
			   size_t len)
{
	const char *fam = family == 6 ? "ip6" : "ip";
	char el[256], a[INET6_ADDRSTRLEN];

	box_addr_str(b, family, a);
	off = table_cmds(family, whole, cmds, off, len);
	if (off >= len)
		return off;
	off += (size_t)snprintf(cmds + off, len - off, "add element %s picocenter boxes { %s }\n",
				fam, a);
	if (!b->cfg.no_egress)
		off += (size_t)snprintf(cmds + off, len - off, "add element %s picocenter egress { %s }\n",
					fam, a);
	for (int i = 0; i < b->cfg.nr_ports; i++) {
		if (!port_in_family(b, &b->cfg.ports[i], family))
			continue;
		port_element(b, i, family, el, sizeof(el), 1);
		off += (size_t)snprintf(cmds + off, len - off, "create element %s\n", el);
	}
	return off;
}

/* One transaction for the box's elements of both families. */
static int publish(const struct box *b, int whole)
{
	char cmds[32768];
	size_t off = add_elements(b, 4, whole, cmds, 0, sizeof(cmds));

	if (box_has_ipv6(b) && off < sizeof(cmds))
		off = add_elements(b, 6, whole, cmds, off, sizeof(cmds));
	if (off >= sizeof(cmds))
		return err_set("too many rules");
	return nft_run(cmds, !whole);
}

/* The box's elements only, when the table is this version (a commit
 * that refills every chain costs about 10 ms more); else, or if that
 * fails for any reason, the table made again with them. */
int nft_box_add(const struct box *b)
{
	int lock, rc;

	uint64_t t0 = now_ns(), t1;

	lock = lock_table();
	if (lock < 0)
		return -1;
	t1 = now_ns();
	timing_span("box nftables: lock", t0, t1);
	rc = publish(b, 0);
	if (rc < 0)
		rc = publish(b, 1);
	timing_span("box nftables: transaction", t1, now_ns());
	if (rc < 0 && strstr(err_msg(), "File exists"))
		err_set("a published host port is taken by another box");
	if (rc == 0 && (fwd_enable(4) < 0 || (box_has_ipv6(b) && fwd_enable(6) < 0)))
		rc = -1;
	close(lock);
	return rc < 0 ? err_wrap("publish box %s", b->cfg.name) : 0;
}

int nft_mark_taken(uint32_t base, uint32_t n, uint8_t *used)
{
	size_t len = 1 << 20;      /* 65536 addresses of up to 16 characters */
	char *out = malloc(len), *p, *save;

	if (!out)
		return err_set("out of memory");
	if (nft_run_out("list set ip picocenter boxes", 1, out, len) < 0) {
		free(out);
		return 0;           /* no table yet: nothing taken */
	}
	for (p = strtok_r(out, " ,{}\n\t", &save); p; p = strtok_r(NULL, " ,{}\n\t", &save)) {
		struct in_addr a;

		if (inet_pton(AF_INET, p, &a) == 1 && ntohl(a.s_addr) - base < n)
			used[ntohl(a.s_addr) - base] = 1;
	}
	free(out);
	return 0;
}

/* Every element of the box in family 4 or 6, one command each: a missing
 * one is fine. */
static void del_elements(const struct box *b, int family)
{
	const char *fam = family == 6 ? "ip6" : "ip";
	char cmd[512], a[INET6_ADDRSTRLEN];

	snprintf(cmd, sizeof(cmd), "list table %s picocenter", fam);
	if (nft_run(cmd, 1) < 0)
		return;
	box_addr_str(b, family, a);
	snprintf(cmd, sizeof(cmd), "delete element %s picocenter boxes { %s }", fam, a);
	nft_run(cmd, 1);
	snprintf(cmd, sizeof(cmd), "delete element %s picocenter egress { %s }", fam, a);
	nft_run(cmd, 1);
	for (int i = 0; i < b->cfg.nr_ports; i++)
		del_port(b, i, family);
}

int nft_box_del(const struct box *b)
{
	int lock;

	if (!b->addr)
		return 0;
	lock = lock_table();
	if (lock < 0)
		return -1;
	del_elements(b, 4);
	if (box_has_ipv6(b))
		del_elements(b, 6);
	close(lock);
	return 0;
}

/* --- the sweep: elements whose box is gone --- */

struct sweep {
	int (*orphan)(uint32_t addr, void *arg);
	void *arg;
	FILE *cmds;            /* the delete commands */
	uint32_t found[1024];  /* the orphan addresses (for the report) */
	size_t n;
};

/* The box address an element's address text names (an IPv6 one's last
 * 32 bits), network order; 0 if it is no address. */
static uint32_t box_addr_of(const char *text)
{
	char tok[INET6_ADDRSTRLEN];
	uint8_t a6[16];
	uint32_t a;

	snprintf(tok, sizeof(tok), "%.*s", (int)strcspn(text, " "), text);
	if (inet_pton(AF_INET, tok, &a) == 1)
		return a;
	if (inet_pton(AF_INET6, tok, a6) != 1)
		return 0;
	memcpy(&a, a6 + 12, 4);
	return a;
}

static void sweep_found(struct sweep *sw, uint32_t a)
{
	for (size_t i = 0; i < sw->n; i++)
		if (sw->found[i] == a)
			return;
	if (sw->n < sizeof(sw->found) / sizeof(sw->found[0]))
		sw->found[sw->n++] = a;
}

/* One element of set or map name (its text, spaces collapsed): deleted if
 * its box address (a map's value) is an orphan's. */
static void sweep_element(struct sweep *sw, const char *fam, const char *name, char *el)
{
	char *val = strstr(el, " : ");
	uint32_t a;

	if (val)
		*val = '\0';
	a = box_addr_of(val ? val + 3 : el);
	if (!a || !sw->orphan(a, sw->arg))
		return;
	fprintf(sw->cmds, "delete element %s picocenter %s { %s }\n", fam, name, el);
	sweep_found(sw, a);
}

/* The elements of set or map name in family fam ("elements = { e1, e2,
 * ... }" in nft's listing, over several lines). */
static int sweep_list(struct sweep *sw, const char *fam, const char *kind, const char *name,
		      char *out, size_t len)
{
	char cmd[128], *p, *end, *el, *save;

	snprintf(cmd, sizeof(cmd), "list %s %s picocenter %s", kind, fam, name);
	if (nft_run_out(cmd, 1, out, len) < 0)
		return 0;           /* no such table or set: nothing in it */
	p = strstr(out, "elements = {");
	if (!p)
		return 0;
	p += strlen("elements = {");
	end = strchr(p, '}');
	if (!end)
		return err_set("nftables: the listing of %s %s is cut short", fam, name);
	*end = '\0';
	for (char *c = p; *c; c++)
		if (*c == '\n' || *c == '\t')
			*c = ' ';
	for (el = strtok_r(p, ",", &save); el; el = strtok_r(NULL, ",", &save)) {
		char *q = el, *w = el;

		for (; *q; q++)    /* trim, and runs of spaces made one */
			if (*q != ' ' || (w > el && w[-1] != ' '))
				*w++ = *q;
		while (w > el && w[-1] == ' ')
			w--;
		*w = '\0';
		if (*el)
			sweep_element(sw, fam, name, el);
	}
	return 0;
}

int nft_sweep(int (*orphan)(uint32_t addr, void *arg), void *arg, FILE *report)
{
	static const char *const lists[][2] = { { "set", "boxes" }, { "set", "egress" },
						{ "map", "dnat_any" }, { "map", "dnat_addr" } };
	struct sweep *sw = calloc(1, sizeof(*sw));
	size_t len = 1 << 20, cmdlen = 0;
	char *out = malloc(len), *cmds = NULL;
	int lock = -1, rc = 0;

	if (!sw || !out || !(sw->cmds = open_memstream(&cmds, &cmdlen))) {
		rc = err_set("out of memory");
		goto out;
	}
	sw->orphan = orphan;
	sw->arg = arg;
	lock = lock_table();
	if (lock < 0) {
		rc = -1;
		goto out;
	}
	for (int f = 0; f < 2 && rc == 0; f++)
		for (size_t i = 0; i < 4 && rc == 0; i++)
			rc = sweep_list(sw, f ? "ip6" : "ip", lists[i][0], lists[i][1], out, len);
	if (fclose(sw->cmds) != 0 && rc == 0)
		rc = err_set("out of memory");
	sw->cmds = NULL;
	if (rc == 0 && cmdlen && nft_run(cmds, 0) < 0)
		rc = err_wrap("remove the elements of boxes that are gone");
	for (size_t i = 0; rc == 0 && i < sw->n; i++) {
		char a[INET_ADDRSTRLEN];

		addr_str(sw->found[i], a);
		if (report)
			fprintf(report, "%s\n", a);
	}
out:
	if (lock >= 0)
		close(lock);
	if (sw && sw->cmds)
		fclose(sw->cmds);
	free(cmds);
	free(out);
	rc = rc < 0 ? -1 : (int)(sw ? sw->n : 0);
	free(sw);
	return rc;
}

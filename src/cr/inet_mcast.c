/*
 * inet_mcast.c - the multicast state of a UDP socket: its memberships
 * (group, interface, source filter) and its IP_MULTICAST_* or
 * IPV6_MULTICAST_* options, as one byte string that the image carries as
 * the socket's data[0] (docs/image-format.md, "Multicast").
 *
 * No call lists a socket's groups.  The groups joined on each interface of
 * the network namespace are in /proc/net/igmp and /proc/net/igmp6 (read
 * through /proc/thread-self: the dumping thread is in the tree's
 * namespace), and getsockopt(MCAST_MSFILTER) for one (group, interface)
 * gives one socket's filter there, or EADDRNOTAVAIL if it did not join.
 * The dumping thread enters the socket's namespace (SIOCGSKNS) for that
 * when it is not there already.  Interfaces are kept by name (a namespace
 * made again numbers them anew).
 *
 * The string, little-endian, no padding:
 *   u32 nr; u32 ttl; u32 loop; u32 all; u8 if_name[16]; u8 if_addr[4];
 *   nr times: u8 if_name[16]; u8 group[16]; u32 fmode; u32 nsrc;
 *             nsrc times u8 source[16]
 * An IPv4 address is the first 4 of 16 bytes, the rest zero, on an IPv4
 * socket; on an IPv6 socket, an IPv4 group it joined (IP_ADD_MEMBERSHIP
 * on a dual-stack socket, as Java does) and its sources are IPv4-mapped
 * (::ffff:a.b.c.d) and are joined at the IP level.  if_name is
 * IPV6_MULTICAST_IF's interface ("" none, IPv6 only), if_addr
 * IP_MULTICAST_IF's address (IPv4 only; an interface index set with
 * ip_mreqn cannot be read back and is not carried).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/inet.h"
#include "cr/netns_switch.h"

#define MC_HEAD 36
#define MC_ENTRY 40
#define MC_MAX_GROUPS 256
#define MC_MAX_SOURCES 64

struct mc_opts {
	uint32_t ttl, loop, all;
	char if_name[IF_NAMESIZE];
	uint8_t if_addr[4];
};

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static int put(struct buf *b, const void *v, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2;
		uint8_t *g = realloc(b->p, cap);

		if (!g)
			return err_set("out of memory");
		b->p = g;
		b->cap = cap;
	}
	memcpy(b->p + b->len, v, n);
	b->len += n;
	return 0;
}

static int put_u32(struct buf *b, uint32_t v)
{
	uint8_t le[4] = { v, v >> 8, v >> 16, v >> 24 };

	return put(b, le, 4);
}

static uint32_t get_u32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int level_of(int family)
{
	return family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
}

/* ---- options ---- */

static int get_int(int fd, int level, int opt, const char *name, uint32_t *v)
{
	int i = 0;
	socklen_t len = sizeof(i);

	if (getsockopt(fd, level, opt, &i, &len) < 0)
		return err_sys("getsockopt %s", name);
	*v = (uint32_t)i;
	return 0;
}

static int read_opts(int fd, int family, struct mc_opts *o)
{
	memset(o, 0, sizeof(*o));
	if (family == AF_INET6) {
		uint32_t idx = 0;

		if (get_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, "IPV6_MULTICAST_HOPS", &o->ttl) < 0 ||
		    get_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, "IPV6_MULTICAST_LOOP", &o->loop) < 0 ||
		    get_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, "IPV6_MULTICAST_ALL", &o->all) < 0 ||
		    get_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, "IPV6_MULTICAST_IF", &idx) < 0)
			return -1;
		if (idx && !if_indextoname(idx, o->if_name))
			return err_sys("IPV6_MULTICAST_IF: interface %u", idx);
		return 0;
	}
	socklen_t len = sizeof(o->if_addr);

	if (get_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, "IP_MULTICAST_TTL", &o->ttl) < 0 ||
	    get_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, "IP_MULTICAST_LOOP", &o->loop) < 0 ||
	    get_int(fd, IPPROTO_IP, IP_MULTICAST_ALL, "IP_MULTICAST_ALL", &o->all) < 0)
		return -1;
	if (getsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, o->if_addr, &len) < 0)
		return err_sys("getsockopt IP_MULTICAST_IF");
	return 0;
}

/* The options of a new socket of family (what need not be carried). */
static int fresh_opts(int family, struct mc_opts *o)
{
	int s = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc;

	if (s < 0)
		return err_sys("socket (multicast defaults)");
	rc = read_opts(s, family, o);
	close(s);
	return rc;
}

static int set_int(int fd, int level, int opt, const char *name, uint32_t v)
{
	int i = (int)v;

	if (setsockopt(fd, level, opt, &i, sizeof(i)) < 0)
		return err_sys("setsockopt %s %d", name, i);
	return 0;
}

/* Set what differs from cur. */
static int apply_opts(int fd, int family, const struct mc_opts *o, const struct mc_opts *cur)
{
	int v6 = family == AF_INET6, level = level_of(family);

	if (o->ttl != cur->ttl &&
	    set_int(fd, level, v6 ? IPV6_MULTICAST_HOPS : IP_MULTICAST_TTL, "multicast ttl", o->ttl) < 0)
		return -1;
	if (o->loop != cur->loop &&
	    set_int(fd, level, v6 ? IPV6_MULTICAST_LOOP : IP_MULTICAST_LOOP, "multicast loop", o->loop) < 0)
		return -1;
	if (o->all != cur->all &&
	    set_int(fd, level, v6 ? IPV6_MULTICAST_ALL : IP_MULTICAST_ALL, "multicast all", o->all) < 0)
		return -1;
	if (v6 && strcmp(o->if_name, cur->if_name)) {
		unsigned idx = o->if_name[0] ? if_nametoindex(o->if_name) : 0;

		if (o->if_name[0] && !idx)
			return err_sys("IPV6_MULTICAST_IF %s (no such interface here)", o->if_name);
		return set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, "IPV6_MULTICAST_IF", idx);
	}
	if (!v6 && memcmp(o->if_addr, cur->if_addr, 4) &&
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, o->if_addr, 4) < 0)
		return err_sys("setsockopt IP_MULTICAST_IF");
	return 0;
}

/* ---- memberships at dump ---- */

struct cand {
	unsigned ifindex;
	char if_name[IF_NAMESIZE];
	uint8_t group[16];
};

struct cands {
	struct cand *v;
	size_t n;
};

static int cand_add(struct cands *c, unsigned idx, const char *name, const uint8_t *group, size_t glen)
{
	struct cand *g = realloc(c->v, (c->n + 1) * sizeof(*g));

	if (!g)
		return err_set("out of memory");
	c->v = g;
	g = &c->v[c->n++];
	memset(g, 0, sizeof(*g));
	g->ifindex = idx;
	snprintf(g->if_name, sizeof(g->if_name), "%s", name);
	memcpy(g->group, group, glen);
	return 0;
}

/* The (interface, group) pairs of /proc/net/igmp: an interface line
 * "IDX\tNAME : ...", then its groups, "\t\t\t\tHEX ..." (the address as a
 * native-endian word). */
static int read_igmp(FILE *f, struct cands *c)
{
	char line[256], name[IF_NAMESIZE] = "";
	unsigned idx = 0;

	while (fgets(line, sizeof(line), f)) {
		unsigned g;

		if (line[0] >= '0' && line[0] <= '9') {
			if (sscanf(line, "%u %15s", &idx, name) != 2)
				idx = 0;
		} else if (line[0] == '\t' && idx && sscanf(line, " %8x", &g) == 1) {
			uint32_t a = g;   /* the kernel printed the __be32 as a word */

			if (cand_add(c, idx, name, (const uint8_t *)&a, 4) < 0)
				return -1;
		}
	}
	return 0;
}

/* /proc/net/igmp6: "IDX NAME HEX32 USERS FLAGS TIMER" per group. */
static int read_igmp6(FILE *f, struct cands *c)
{
	char line[256], name[IF_NAMESIZE], hex[33];
	unsigned idx;

	while (fgets(line, sizeof(line), f)) {
		uint8_t a[16];

		if (sscanf(line, "%u %15s %32s", &idx, name, hex) != 3 || strlen(hex) != 32)
			continue;
		for (int i = 0; i < 16; i++) {
			unsigned byte;

			if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
				break;
			a[i] = (uint8_t)byte;
		}
		if (cand_add(c, idx, name, a, 16) < 0)
			return -1;
	}
	return 0;
}

static int read_cands(int family, struct cands *c)
{
	const char *path = family == AF_INET6 ? "/proc/thread-self/net/igmp6"
					      : "/proc/thread-self/net/igmp";
	FILE *f = fopen(path, "re");
	int rc;

	if (!f)
		return errno == ENOENT ? 0 : err_sys("open %s", path);
	rc = family == AF_INET6 ? read_igmp6(f, c) : read_igmp(f, c);
	fclose(f);
	return rc;
}

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* The family of a membership of group on a socket of family: IPv4 for an
 * IPv4-mapped group on an IPv6 socket. */
static int entry_family(int family, const uint8_t *group)
{
	return family == AF_INET6 && !memcmp(group, v4mapped, 12) ? AF_INET : family;
}

/* An address of the string as the entry family ef sees it. */
static const uint8_t *entry_addr(int family, int ef, const uint8_t *a)
{
	return family == AF_INET6 && ef == AF_INET ? a + 12 : a;
}

static void to_storage(int family, const uint8_t *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, a, 16);
	} else {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		memcpy(&s->sin_addr, a, 4);
	}
}

/* An address into the string's 16 bytes, for a socket of family. */
static void from_storage(int family, const struct sockaddr_storage *ss, uint8_t a[16])
{
	memset(a, 0, 16);
	if (ss->ss_family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	} else if (family == AF_INET6) {
		memcpy(a, v4mapped, 12);
		memcpy(a + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else {
		memcpy(a, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	}
}

/* The filter of fd (a socket of family) for candidate c (a group of
 * cfam) into b, if fd joined it; *n counts. */
static int probe(int fd, int family, int cfam, const struct cand *c, struct group_filter *gf,
		 struct buf *b, uint32_t *n)
{
	socklen_t len = GROUP_FILTER_SIZE(MC_MAX_SOURCES);
	uint8_t a[16];

	memset(gf, 0, len);
	gf->gf_interface = c->ifindex;
	gf->gf_numsrc = MC_MAX_SOURCES;
	to_storage(cfam, c->group, &gf->gf_group);
	if (getsockopt(fd, level_of(cfam), MCAST_MSFILTER, gf, &len) < 0)
		return errno == EADDRNOTAVAIL ? 0 : err_sys("getsockopt MCAST_MSFILTER");
	if (gf->gf_numsrc > MC_MAX_SOURCES)
		return err_set("multicast group on %s: %u sources, more than %d carried",
			       c->if_name, gf->gf_numsrc, MC_MAX_SOURCES);
	if (++*n > MC_MAX_GROUPS)
		return err_set("more than %d multicast memberships", MC_MAX_GROUPS);
	uint8_t name[IF_NAMESIZE] = { 0 };

	memcpy(name, c->if_name, strlen(c->if_name));
	from_storage(family, &gf->gf_group, a);
	if (put(b, name, sizeof(name)) < 0 || put(b, a, 16) < 0 ||
	    put_u32(b, gf->gf_fmode) < 0 || put_u32(b, gf->gf_numsrc) < 0)
		return -1;
	for (uint32_t i = 0; i < gf->gf_numsrc; i++) {
		from_storage(family, &gf->gf_slist[i], a);
		if (put(b, a, 16) < 0)
			return -1;
	}
	return 0;
}

/* Enter the network namespace of socket fd if this thread is not in it;
 * *own: the thread's own to go back to, -1 if it stayed. */
static int enter_sock_netns(int fd, int *own)
{
	struct stat a, b;
	int rc, ns = ioctl(fd, SIOCGSKNS);

	*own = -1;
	if (ns < 0)
		return err_sys("the socket's network namespace (SIOCGSKNS)");
	if (fstat(ns, &a) < 0 || stat("/proc/thread-self/ns/net", &b) < 0) {
		close(ns);
		return err_sys("stat network namespaces");
	}
	if (a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
		close(ns);
		return 0;
	}
	rc = netns_enter(ns, own);
	close(ns);
	return rc < 0 ? err_wrap("enter the socket's network namespace") : 0;
}

static int dump_here(int fd, int family, uint8_t **out, uint32_t *out_len);

int mcast_dump(int fd, int family, uint8_t **out, uint32_t *out_len)
{
	int own, rc;

	*out = NULL;
	*out_len = 0;
	if (enter_sock_netns(fd, &own) < 0)
		return err_wrap("multicast");
	rc = dump_here(fd, family, out, out_len);
	if (netns_leave(own) < 0 && rc == 0) {
		free(*out);
		*out = NULL;
		rc = -1;
	}
	return rc;
}

static int dump_here(int fd, int family, uint8_t **out, uint32_t *out_len)
{
	struct cands c = { 0 };
	struct mc_opts o, fresh;
	struct buf b = { 0 }, head = { 0 };
	struct group_filter *gf = malloc(GROUP_FILTER_SIZE(MC_MAX_SOURCES));
	uint32_t n = 0;
	int rc = gf ? 0 : err_set("out of memory");

	/* An IPv6 socket's IPv4 groups too (a dual-stack socket). */
	for (int cfam = family; rc == 0 && cfam; cfam = cfam == AF_INET6 ? AF_INET : 0) {
		c.n = 0;
		rc = read_cands(cfam, &c);
		for (size_t i = 0; rc == 0 && i < c.n; i++)
			rc = probe(fd, family, cfam, &c.v[i], gf, &b, &n);
	}
	if (rc == 0)
		rc = read_opts(fd, family, &o) < 0 || fresh_opts(family, &fresh) < 0 ? -1 : 0;
	if (rc == 0 && (n || memcmp(&o, &fresh, sizeof(o)))) {
		uint8_t name[IF_NAMESIZE] = { 0 };

		memcpy(name, o.if_name, strlen(o.if_name));
		if (put_u32(&head, n) < 0 || put_u32(&head, o.ttl) < 0 || put_u32(&head, o.loop) < 0 ||
		    put_u32(&head, o.all) < 0 || put(&head, name, sizeof(name)) < 0 ||
		    put(&head, o.if_addr, 4) < 0 || (b.len && put(&head, b.p, b.len) < 0))
			rc = -1;
		else {
			*out = head.p;
			*out_len = (uint32_t)head.len;
			head.p = NULL;
		}
	}
	free(head.p);
	free(b.p);
	free(c.v);
	free(gf);
	return rc < 0 ? err_wrap("multicast") : 0;
}

/* ---- validation ---- */

static int is_multicast(int family, const uint8_t *a)
{
	return family == AF_INET6 ? a[0] == 0xff : (a[0] & 0xf0) == 0xe0;
}

/* An address of a membership of family ef on a socket of family. */
static int check_addr(int family, int ef, const uint8_t *a, int multicast, const char *what)
{
	static const uint8_t zero[12];

	if (family == AF_INET && memcmp(a + 4, zero, 12))
		return err_set("multicast: %s: IPv6 bytes in an IPv4 address", what);
	if (family == AF_INET6 && (ef == AF_INET) != !memcmp(a, v4mapped, 12))
		return err_set("multicast: %s: IPv4 and IPv6 mixed in one membership", what);
	if (is_multicast(ef, entry_addr(family, ef, a)) != multicast)
		return err_set("multicast: %s is %sa multicast address", what, multicast ? "not " : "");
	return 0;
}

static int check_name(const uint8_t *name, int empty_ok)
{
	const uint8_t *nul = memchr(name, 0, IF_NAMESIZE);

	if (!nul || (!empty_ok && nul == name) || memchr(name, '/', nul - name))
		return err_set("multicast: bad interface name");
	return 0;
}

/* Walk the string: check it, and with fd >= 0 join every membership. */
static int walk(int fd, int family, const uint8_t *p, uint32_t len, struct mc_opts *o);

int mcast_check(int family, const uint8_t *p, uint32_t len)
{
	struct mc_opts o;

	return walk(-1, family, p, len, &o);
}

static int join(int fd, int family, const uint8_t *e, const uint8_t *src)
{
	uint32_t fmode = get_u32(e + 32), nsrc = get_u32(e + 36);
	unsigned idx = if_nametoindex((const char *)e);
	struct group_req gr = { .gr_interface = idx };
	struct group_filter *gf;
	int ef = entry_family(family, e + 16), rc = 0;

	if (!idx)
		return err_sys("multicast group on %s (no such interface here)", (const char *)e);
	to_storage(ef, entry_addr(family, ef, e + 16), &gr.gr_group);
	if (setsockopt(fd, level_of(ef), MCAST_JOIN_GROUP, &gr, sizeof(gr)) < 0)
		return err_sys("MCAST_JOIN_GROUP on %s", (const char *)e);
	if (fmode == MCAST_EXCLUDE && nsrc == 0)
		return 0;
	gf = calloc(1, GROUP_FILTER_SIZE(nsrc));
	if (!gf)
		return err_set("out of memory");
	gf->gf_interface = idx;
	gf->gf_group = gr.gr_group;
	gf->gf_fmode = fmode;
	gf->gf_numsrc = nsrc;
	for (uint32_t i = 0; i < nsrc; i++)
		to_storage(ef, entry_addr(family, ef, src + 16 * i), &gf->gf_slist[i]);
	if (setsockopt(fd, level_of(ef), MCAST_MSFILTER, gf, GROUP_FILTER_SIZE(nsrc)) < 0)
		rc = err_sys("MCAST_MSFILTER on %s", (const char *)e);
	free(gf);
	return rc;
}

static int walk(int fd, int family, const uint8_t *p, uint32_t len, struct mc_opts *o)
{
	uint32_t n, off = MC_HEAD;

	if (len < MC_HEAD)
		return err_set("multicast: %u bytes, shorter than its head", len);
	n = get_u32(p);
	memset(o, 0, sizeof(*o));
	o->ttl = get_u32(p + 4);
	o->loop = get_u32(p + 8);
	o->all = get_u32(p + 12);
	memcpy(o->if_name, p + 16, IF_NAMESIZE);
	memcpy(o->if_addr, p + 32, 4);
	if (n > MC_MAX_GROUPS || o->ttl > 255 || o->loop > 1 || o->all > 1 ||
	    check_name(p + 16, 1) < 0 || (family == AF_INET && o->if_name[0]) ||
	    (family == AF_INET6 && get_u32(p + 32)))
		return err_set("multicast: bad head (%u groups, ttl %u, loop %u, all %u)", n, o->ttl,
			       o->loop, o->all);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = p + off;
		uint32_t fmode, nsrc;

		if (len - off < MC_ENTRY)
			return err_set("multicast: membership %u truncated", i);
		fmode = get_u32(e + 32);
		nsrc = get_u32(e + 36);
		int ef = entry_family(family, e + 16);

		if (check_name(e, 0) < 0 || check_addr(family, ef, e + 16, 1, "group") < 0)
			return -1;
		if (fmode > MCAST_INCLUDE || nsrc > MC_MAX_SOURCES ||
		    (fmode == MCAST_INCLUDE && !nsrc) || (len - off - MC_ENTRY) / 16 < nsrc)
			return err_set("multicast: membership %u: mode %u with %u sources", i, fmode,
				       nsrc);
		for (uint32_t s = 0; s < nsrc; s++)
			if (check_addr(family, ef, e + MC_ENTRY + 16 * s, 0, "source") < 0)
				return -1;
		if (fd >= 0 && join(fd, family, e, e + MC_ENTRY) < 0)
			return -1;
		off += MC_ENTRY + 16 * nsrc;
	}
	if (off != len)
		return err_set("multicast: %u trailing bytes", len - off);
	return 0;
}

int mcast_restore(int fd, int family, const uint8_t *p, uint32_t len)
{
	struct mc_opts o, cur;

	if (!len)
		return 0;
	if (walk(fd, family, p, len, &o) < 0 || read_opts(fd, family, &cur) < 0 ||
	    apply_opts(fd, family, &o, &cur) < 0)
		return err_wrap("multicast");
	return 0;
}

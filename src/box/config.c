/*
 * config.c - a box's configuration: defaults, parsing of the user's
 * values (sizes, counts, port specs) and the box record on disk
 * (BOXES/NAME/config, "key=value" lines), validated when read back.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "box/box_int.h"
#include "common/err.h"

int box_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= 24 || name[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '-'))
			return 0;
	return 1;
}

int box_config_init(struct box_config *cfg, const char *name)
{
	memset(cfg, 0, sizeof(*cfg));
	if (!box_name_valid(name))
		return err_set("bad box name '%s' (1-23 of a-z 0-9 -)", name);
	strcpy(cfg->name, name);
	strcpy(cfg->dir, BOX_DEFAULT_DIR);
	strcpy(cfg->rootfs, "host");
	strcpy(cfg->bridge, "pcbr0");
	cfg->subnet = htonl(0x0a580000);  /* 10.88.0.0 */
	cfg->prefix = 16;
	cfg->uid_pool_base = BOX_UID_POOL_BASE;
	cfg->uid_pool_count = BOX_UID_POOL_COUNT;
	cfg->uids = BOX_UIDS;
	return 0;
}

static int parse_u64(const char *s, uint64_t *v, char **end)
{
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, end, 10);
	return errno ? -1 : 0;
}

/* A host uid pool or range: above the host's own first 65536 ids, and
 * within 32 bits. */
int uidrange_pool_valid(uint32_t base, uint32_t count)
{
	return base >= 65536 && count > 0 && (uint64_t)base + count <= UINT32_MAX;
}

int uidrange_valid(uint32_t base, uint32_t uids)
{
	return uids >= BOX_UIDS_MIN && uids <= BOX_UIDS_MAX && uidrange_pool_valid(base, uids);
}

static int parse_u32(const char *s, char **end, uint32_t *v)
{
	uint64_t n;

	if (parse_u64(s, &n, end) < 0 || n > UINT32_MAX)
		return -1;
	*v = (uint32_t)n;
	return 0;
}

int box_parse_uid_pool(const char *s, struct box_config *cfg)
{
	uint32_t base, count;
	char *end;

	if (parse_u32(s, &end, &base) < 0 || *end != ':' ||
	    parse_u32(end + 1, &end, &count) < 0 || *end || !uidrange_pool_valid(base, count))
		return err_set("bad uid pool '%s' (BASE:COUNT, BASE >= 65536, "
			       "BASE + COUNT < 2^32)", s);
	cfg->uid_pool_base = base;
	cfg->uid_pool_count = count;
	return 0;
}

int box_parse_size(const char *s, uint64_t *bytes)
{
	uint64_t v, mul = 1;
	char *end;

	if (parse_u64(s, &v, &end) < 0)
		return err_set("bad size '%s'", s);
	if (*end == 'K' || *end == 'k')
		mul = 1ULL << 10;
	else if (*end == 'M' || *end == 'm')
		mul = 1ULL << 20;
	else if (*end == 'G' || *end == 'g')
		mul = 1ULL << 30;
	else if (*end != '\0')
		return err_set("bad size '%s' (a number with K, M or G)", s);
	if (*end && end[1] != '\0')
		return err_set("bad size '%s' (a number with K, M or G)", s);
	if (v > (1ULL << 50) / mul || v * mul < (4ULL << 20))
		return err_set("size '%s' out of range (4M..1P)", s);
	*bytes = v * mul;
	return 0;
}

int box_parse_count(const char *s, uint32_t max, uint32_t *n)
{
	uint64_t v;
	char *end;

	if (parse_u64(s, &v, &end) < 0 || *end != '\0' || v == 0 || v > max)
		return err_set("bad count '%s' (1..%" PRIu32 ")", s, max);
	*n = (uint32_t)v;
	return 0;
}

static int parse_port(const char *s, uint16_t *port)
{
	uint64_t v;
	char *end;

	if (parse_u64(s, &v, &end) < 0 || *end != '\0' || v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* "[ADDR]:HOSTPORT:APPPORT" after the protocol is cut off: an IPv6 host
 * address in brackets. */
static int parse_port_v6(char *buf, struct box_port *p)
{
	char *close = strchr(buf, ']'), *colon;

	if (!close || close[1] != ':')
		return -1;
	*close = '\0';
	if (inet_pton(AF_INET6, buf + 1, p->host_addr6) != 1)
		return -1;
	p->v6 = 1;
	colon = strchr(close + 2, ':');
	if (!colon)
		return -1;
	*colon = '\0';
	return parse_port(close + 2, &p->host_port) < 0 || parse_port(colon + 1, &p->app_port) < 0
		       ? -1 : 0;
}

/* "[HOSTADDR:]HOSTPORT:APPPORT[/tcp|/udp]", HOSTADDR an IPv4 address or
 * an IPv6 one in brackets. */
static int parse_port_spec(const char *spec, struct box_port *p)
{
	char buf[128], *proto, *colon, *first;
	struct in_addr a;

	memset(p, 0, sizeof(*p));
	if (strlen(spec) >= sizeof(buf))
		return -1;
	strcpy(buf, spec);
	proto = strchr(buf, '/');
	if (proto) {
		*proto++ = '\0';
		if (!strcmp(proto, "udp"))
			p->udp = 1;
		else if (strcmp(proto, "tcp"))
			return -1;
	}
	if (buf[0] == '[')
		return parse_port_v6(buf, p);
	colon = strrchr(buf, ':');
	if (!colon || parse_port(colon + 1, &p->app_port) < 0)
		return -1;
	*colon = '\0';
	first = strrchr(buf, ':');
	if (first) {
		*first = '\0';
		if (inet_pton(AF_INET, buf, &a) != 1)
			return -1;
		p->host_addr = a.s_addr;
		return parse_port(first + 1, &p->host_port);
	}
	return parse_port(buf, &p->host_port);
}

int box_config_add_port(struct box_config *cfg, const char *spec)
{
	struct box_port p;

	if (parse_port_spec(spec, &p) < 0)
		return err_set("bad port '%s' ([HOSTADDR:]HOSTPORT:APPPORT[/tcp|/udp], "
			       "HOSTADDR A.B.C.D or [IPV6], ports 1-65535)", spec);
	if (p.v6 && IN6_IS_ADDR_LOOPBACK((struct in6_addr *)p.host_addr6))
		return err_set("port '%s': ::1 cannot be published (the kernel drops the "
			       "answers; use 127.0.0.1)", spec);
	for (int i = 0; i < cfg->nr_ports; i++)
		if (cfg->ports[i].host_port == p.host_port && cfg->ports[i].udp == p.udp)
			return err_set("port '%s': host port %u given twice", spec, p.host_port);
	if (cfg->nr_ports == BOX_MAX_PORTS)
		return err_set("more than %d ports", BOX_MAX_PORTS);
	cfg->ports[cfg->nr_ports++] = p;
	return 0;
}

/* --- the record --- */

static void put_cg(FILE *f, const char *key, const char *dir, int v2)
{
	if (dir[0])
		fprintf(f, "cg_%s=%d:%s\n", key, v2, dir);
}

static void put_port(FILE *f, const struct box_port *p)
{
	char a[INET6_ADDRSTRLEN];

	if (p->v6)
		fprintf(f, "port=[%s]", addr6_text(p->host_addr6, a));
	else
		fprintf(f, "port=%s", inet_ntop(AF_INET, &p->host_addr, a, sizeof(a)));
	fprintf(f, ":%u:%u/%s\n", p->host_port, p->app_port, p->udp ? "udp" : "tcp");
}

static int write_record(FILE *f, const struct box *b)
{
	const struct box_config *c = &b->cfg;
	char a[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN], a6b[INET6_ADDRSTRLEN];

	fprintf(f, "name=%s\nrootfs=%s\nmemory=%" PRIu64 "\npids=%" PRIu32 "\n",
		c->name, c->rootfs, c->memory, c->pids);
	fprintf(f, "cpu_weight=%" PRIu32 "\nno_egress=%d\nbridge=%s\n",
		c->cpu_weight, c->no_egress, c->bridge);
	fprintf(f, "subnet=%s/%d\n", inet_ntop(AF_INET, &c->subnet, a, sizeof(a)), c->prefix);
	fprintf(f, "addr=%s\nveth=%s\n", inet_ntop(AF_INET, &b->addr, a, sizeof(a)), b->veth);
	if (c->prefix6 > 0)
		fprintf(f, "subnet6=%s/%d\naddr6=%s\n", addr6_text(c->subnet6, a6), c->prefix6,
			addr6_text(b->addr6, a6b));
	else
		fprintf(f, "subnet6=none\n");
	for (int i = 0; i < c->nr_ports; i++)
		put_port(f, &c->ports[i]);
	if (c->log[0])
		fprintf(f, "log=%s\n", c->log);
	if (c->log_at[0])
		fprintf(f, "log_at=%s\n", c->log_at);
	if (c->hide[0])
		fprintf(f, "hide=%s\n", c->hide);
	if (c->init)
		fprintf(f, "init=1\n");
	fprintf(f, "uid_pool=%" PRIu32 ":%" PRIu32 "\nuids=%" PRIu32 "\nuid_base=%" PRIu32 "\n",
		c->uid_pool_base, c->uid_pool_count, c->uids, b->uid_base);
	put_cg(f, "memory", b->cg.memory, b->cg.memory_v2);
	put_cg(f, "pids", b->cg.pids, b->cg.pids_v2);
	put_cg(f, "cpu", b->cg.cpu, b->cg.cpu_v2);
	put_cg(f, "freezer", b->cg.freezer, b->cg.freezer_v2);
	put_cg(f, "unified", b->cg.unified, 1);
	return ferror(f) ? -1 : 0;
}

int box_record_write(const struct box *b)
{
	char path[BOX_PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/config", b->path);
	return box_record_save(b, path);
}

int box_record_save(const struct box *b, const char *path)
{
	char tmp[BOX_PATH_MAX + 32];
	FILE *f;
	int rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return err_set("path too long: %s", path);
	f = fopen(tmp, "we");
	if (!f)
		return err_sys("create %s", tmp);
	rc = write_record(f, b);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0)
		rc = -1;
	if (fclose(f) != 0 || rc < 0) {
		unlink(tmp);
		return err_sys("write %s", tmp);
	}
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		return err_sys("rename %s", tmp);
	}
	return 0;
}

/* A cgroup dir from the record: absolute, under /sys/fs/cgroup, no "..". */
static int parse_cg(const char *v, char *dir, int *v2)
{
	if ((v[0] != '0' && v[0] != '1') || v[1] != ':')
		return -1;
	v += 2;
	if (strncmp(v, "/sys/fs/cgroup/", 15) || strstr(v, "/..") ||
	    strlen(v) >= BOX_PATH_MAX)
		return -1;
	if (v2)
		*v2 = v[-2] == '1';
	strcpy(dir, v);
	return 0;
}

static int parse_addr(const char *v, uint32_t *addr)
{
	struct in_addr a;

	if (inet_pton(AF_INET, v, &a) != 1)
		return -1;
	*addr = a.s_addr;
	return 0;
}

static int parse_subnet(const char *v, struct box_config *c)
{
	char buf[32], *slash;
	uint64_t p;
	char *end;

	if (strlen(v) >= sizeof(buf))
		return -1;
	strcpy(buf, v);
	slash = strchr(buf, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	if (parse_addr(buf, &c->subnet) < 0 || parse_u64(slash + 1, &p, &end) < 0 ||
	    *end || p < 8 || p > 30)
		return -1;
	c->prefix = (int)p;
	return 0;
}

int box_parse_subnet(const char *s, struct box_config *cfg)
{
	struct box_config c = *cfg;

	if (parse_subnet(s, &c) < 0)
		return err_set("bad subnet '%s' (A.B.C.D/N, N in 8..30)", s);
	cfg->subnet = c.subnet;
	cfg->prefix = c.prefix;
	return 0;
}

static int parse_num32(const char *v, uint32_t *out)
{
	char *end;

	return parse_u32(v, &end, out) < 0 || *end ? -1 : 0;
}

static int parse_line(struct box *b, const char *k, const char *v)
{
	struct box_config *c = &b->cfg;
	uint32_t n;
	char *end;

	if (!strcmp(k, "name")) {
		if (!box_name_valid(v))
			return -1;
		strcpy(c->name, v);
	} else if (!strcmp(k, "rootfs")) {
		if (strlen(v) >= sizeof(c->rootfs) || (strcmp(v, "host") && v[0] != '/'))
			return -1;
		strcpy(c->rootfs, v);
	} else if (!strcmp(k, "log") || !strcmp(k, "hide") || !strcmp(k, "log_at")) {
		char *dst = !strcmp(k, "log") ? c->log : k[0] == 'h' ? c->hide : c->log_at;

		if (strlen(v) >= BOX_PATH_MAX || v[0] != '/' || !v[1] || strstr(v, "/.."))
			return -1;
		strcpy(dst, v);
	} else if (!strcmp(k, "memory")) {
		return parse_u64(v, &c->memory, &end) < 0 || *end ? -1 : 0;
	} else if (!strcmp(k, "pids")) {
		return parse_num32(v, &c->pids);
	} else if (!strcmp(k, "cpu_weight")) {
		return parse_num32(v, &c->cpu_weight) < 0 || c->cpu_weight > 10000 ? -1 : 0;
	} else if (!strcmp(k, "no_egress") || !strcmp(k, "init")) {
		if (parse_num32(v, &n) < 0 || n > 1)
			return -1;
		*(k[0] == 'n' ? &c->no_egress : &c->init) = (int)n;
	} else if (!strcmp(k, "bridge") || !strcmp(k, "veth")) {
		char *dst = k[0] == 'b' ? c->bridge : b->veth;

		if (strlen(v) == 0 || strlen(v) >= 16 || strchr(v, '/'))
			return -1;
		strcpy(dst, v);
	} else if (!strcmp(k, "subnet")) {
		return parse_subnet(v, c);
	} else if (!strcmp(k, "addr")) {
		return parse_addr(v, &b->addr);
	} else if (!strcmp(k, "subnet6")) {
		if (!strcmp(v, "none")) {
			c->prefix6 = -1;
			return 0;
		}
		return subnet6_parse(v, c->subnet6, &c->prefix6);
	} else if (!strcmp(k, "addr6")) {
		return inet_pton(AF_INET6, v, b->addr6) == 1 ? 0 : -1;
	} else if (!strcmp(k, "port")) {
		if (c->nr_ports == BOX_MAX_PORTS)
			return -1;
		return parse_port_spec(v, &c->ports[c->nr_ports++]);
	} else if (!strcmp(k, "uid_pool")) {
		return box_parse_uid_pool(v, c) < 0 ? -1 : 0;
	} else if (!strcmp(k, "uids")) {
		return parse_num32(v, &c->uids) < 0 || c->uids < BOX_UIDS_MIN ||
		       c->uids > BOX_UIDS_MAX ? -1 : 0;
	} else if (!strcmp(k, "uid_base")) {
		return parse_num32(v, &b->uid_base);
	} else if (!strcmp(k, "cg_memory")) {
		return parse_cg(v, b->cg.memory, &b->cg.memory_v2);
	} else if (!strcmp(k, "cg_pids")) {
		return parse_cg(v, b->cg.pids, &b->cg.pids_v2);
	} else if (!strcmp(k, "cg_cpu")) {
		return parse_cg(v, b->cg.cpu, &b->cg.cpu_v2);
	} else if (!strcmp(k, "cg_freezer")) {
		return parse_cg(v, b->cg.freezer, &b->cg.freezer_v2);
	} else if (!strcmp(k, "cg_unified")) {
		return parse_cg(v, b->cg.unified, NULL);
	} else {
		return -1;
	}
	return 0;
}

static int parse_record(FILE *f, struct box *b, const char *path)
{
	char line[BOX_PATH_MAX + 64];
	int lineno = 0;

	while (fgets(line, sizeof(line), f)) {
		char *eq, *nl = strchr(line, '\n');

		lineno++;
		if (!nl)
			return err_set("%s:%d: line too long", path, lineno);
		*nl = '\0';
		eq = strchr(line, '=');
		if (!eq)
			return err_set("%s:%d: not key=value", path, lineno);
		*eq = '\0';
		if (parse_line(b, line, eq + 1) < 0)
			return err_set("%s:%d: bad %s '%s'", path, lineno, line, eq + 1);
	}
	if (!b->cfg.name[0] || !b->cfg.rootfs[0] || !b->addr || !b->veth[0] ||
	    !b->cfg.bridge[0] || !b->cfg.uid_pool_count)
		return err_set("%s: incomplete box record", path);
	if (b->cfg.prefix6 == 0)      /* a record older than IPv6: none */
		b->cfg.prefix6 = -1;
	if (b->cfg.prefix6 > 0) {
		uint8_t want[16];

		addr6_of(&b->cfg, b->addr, want);
		if (memcmp(want, b->addr6, 16))
			return err_set("%s: addr6 is not subnet6 with addr as its last 32 bits", path);
	}
	for (int i = 0; i < b->cfg.nr_ports; i++)
		if (b->cfg.ports[i].v6 && b->cfg.prefix6 < 0)
			return err_set("%s: an IPv6 port in a box without IPv6", path);
	if (!uidrange_valid(b->uid_base, b->cfg.uids))
		return err_set("%s: bad uid range %" PRIu32 "+%" PRIu32, path, b->uid_base,
			       b->cfg.uids);
	return 0;
}

int box_record_read(const char *dir, struct box *b)
{
	char path[BOX_PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/config", dir);
	return box_record_load(path, dir, b);
}

int box_record_load(const char *path, const char *dir, struct box *b)
{
	FILE *f;
	int rc;

	memset(b, 0, sizeof(*b));
	if (strlen(dir) >= sizeof(b->path))
		return err_set("box path too long");
	strcpy(b->path, dir);
	f = fopen(path, "re");
	if (!f)
		return err_sys("open %s", path);
	rc = parse_record(f, b, path);
	fclose(f);
	return rc;
}

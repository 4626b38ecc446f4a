/*
 * addr6.c - a box's IPv6 address: its subnet (given with --subnet6, or
 * derived from the IPv4 subnet) and the address itself, the subnet with
 * the box's IPv4 address as its last 32 bits.  So the IPv6 address follows
 * the IPv4 one everywhere (allocation, a box made again elsewhere, the
 * first-packet hold, which finds the box from those 32 bits).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "box/box_int.h"
#include "common/err.h"

#define PREFIX6_MIN 48
#define PREFIX6_MAX 96   /* the last 32 bits are the IPv4 address */

/* "PREFIX/N": a network address (no host bits) with N in 48..96. */
int subnet6_parse(const char *s, uint8_t net[16], int *prefix)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	long n;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash || slash[1] < '0' || slash[1] > '9')
		return -1;
	*slash = '\0';
	n = strtol(slash + 1, &end, 10);
	if (*end || n < PREFIX6_MIN || n > PREFIX6_MAX || inet_pton(AF_INET6, buf, net) != 1)
		return -1;
	for (int bit = (int)n; bit < 128; bit++)
		if (net[bit / 8] & (0x80 >> (bit % 8)))
			return -1;
	*prefix = (int)n;
	return 0;
}

int box_parse_subnet6(const char *s, struct box_config *cfg)
{
	uint8_t net[16];
	int prefix;

	if (!strcmp(s, "none")) {
		memset(cfg->subnet6, 0, sizeof(cfg->subnet6));
		cfg->prefix6 = -1;
		return 0;
	}
	if (subnet6_parse(s, net, &prefix) < 0)
		return err_set("bad subnet6 '%s' (an IPv6 network PREFIX/N, N in %d..%d, or none)",
			       s, PREFIX6_MIN, PREFIX6_MAX);
	memcpy(cfg->subnet6, net, sizeof(net));
	cfg->prefix6 = prefix;
	return 0;
}

/* No subnet6 given: BOX_SUBNET6_BASE/64 with the IPv4 subnet's second and
 * third bytes as the fourth group, so that boxes of different IPv4 subnets
 * (on different bridges) get different IPv6 subnets too; none on a host
 * without IPv6. */
void subnet6_resolve(struct box_config *c)
{
	const uint8_t *v4 = (const uint8_t *)&c->subnet;

	if (c->prefix6 != 0)
		return;
	if (access("/proc/net/if_inet6", F_OK) < 0) {
		c->prefix6 = -1;
		return;
	}
	inet_pton(AF_INET6, BOX_SUBNET6_BASE, c->subnet6);
	c->subnet6[6] = v4[1];
	c->subnet6[7] = v4[2];
	c->prefix6 = 64;
}

void addr6_of(const struct box_config *c, uint32_t addr, uint8_t out[16])
{
	memcpy(out, c->subnet6, 16);
	memcpy(out + 12, &addr, 4);
}

const char *addr6_text(const uint8_t a[16], char *buf)
{
	return inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
}

int box_has_ipv6(const struct box *b)
{
	return b->cfg.prefix6 > 0;
}

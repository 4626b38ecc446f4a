/*
 * prune.c - nftables elements that no box owns any more, removed: those
 * of a box whose record is gone (a `cr spawn` or a test killed half-way,
 * a box dir removed by hand) stay in picocenter's tables, keep its address
 * and host ports taken and would DNAT to whichever box gets the address
 * next.  An element is an orphan when its box address (see nft_sweep) is
 * in one of the subnets of the boxes dir being pruned, no `pcXXXXXXXX`
 * veth has it (an awake box of any dir) and no record of any boxes dir
 * of the machine (the registry, uidrange.c, and this dir) has it (an
 * asleep box keeps its elements and has no veth).  The machine-wide lock
 * is held throughout, so no box is being given an address meanwhile.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "box/box_int.h"
#include "common/err.h"

#define MAX_SUBNETS 64

struct owners {
	uint32_t net[MAX_SUBNETS], mask[MAX_SUBNETS];  /* host order */
	int nr_nets;
	uint32_t *addrs;      /* of every record, network order */
	size_t n, cap;
};

static void add_subnet(struct owners *o, uint32_t subnet, int prefix)
{
	uint32_t mask = prefix ? ~0u << (32 - prefix) : 0;

	for (int i = 0; i < o->nr_nets; i++)
		if (o->net[i] == (ntohl(subnet) & mask) && o->mask[i] == mask)
			return;
	if (o->nr_nets < MAX_SUBNETS) {
		o->net[o->nr_nets] = ntohl(subnet) & mask;
		o->mask[o->nr_nets++] = mask;
	}
}

static int add_owner(const struct box *b, void *arg)
{
	struct owners *o = arg;

	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 256;
		uint32_t *g = realloc(o->addrs, cap * sizeof(*g));

		if (!g)
			return err_set("out of memory");
		o->addrs = g;
		o->cap = cap;
	}
	o->addrs[o->n++] = b->addr;
	return 0;
}

/* The subnets of dir's own records. */
static int own_subnet(const struct box *b, void *arg)
{
	add_subnet(arg, b->cfg.subnet, b->cfg.prefix);
	return 0;
}

static int is_orphan(uint32_t addr, void *arg)
{
	const struct owners *o = arg;
	char veth[IF_NAMESIZE];
	int in = 0;

	for (int i = 0; i < o->nr_nets && !in; i++)
		in = (ntohl(addr) & o->mask[i]) == o->net[i];
	if (!in)
		return 0;
	for (size_t i = 0; i < o->n; i++)
		if (o->addrs[i] == addr)
			return 0;
	snprintf(veth, sizeof(veth), "pc%08x", ntohl(addr));
	return if_nametoindex(veth) == 0;
}

int box_prune(const char *dir, const struct box_config *subnets, int n, FILE *report)
{
	struct owners o = { .nr_nets = 0 };
	int machine, rc;

	if (!dir)
		dir = BOX_DEFAULT_DIR;
	for (int i = 0; i < n; i++)
		add_subnet(&o, subnets[i].subnet, subnets[i].prefix);
	machine = box_lock_machine();
	if (machine < 0)
		return -1;
	rc = box_dir_records(dir, own_subnet, &o);
	if (rc == 0 && o.nr_nets == 0) {    /* nothing says which: the default's */
		struct box_config def;

		rc = box_config_init(&def, "prune");
		if (rc == 0)
			add_subnet(&o, def.subnet, def.prefix);
	}
	if (rc == 0)
		rc = box_dirs_records(dir, add_owner, &o);
	if (rc == 0)
		rc = nft_sweep(is_orphan, &o, report);
	close(machine);
	free(o.addrs);
	return rc < 0 ? err_wrap("prune box dir %s", dir) : rc;
}

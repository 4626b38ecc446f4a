/* main.c - the picocenter binary: dispatch to a subcommand in cli/. */
#include <stdio.h>
#include <string.h>

#include "cli/cmd.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
};

static const struct command commands[] = {
	{ "cr", cmd_cr, "checkpoint/restore a process tree (spawn, dump, restore)" },
	{ "store", cmd_store, "images in an object store (put, get, ls, du, fsck, gc, rm)" },
	{ "box", cmd_box, "app boxes left on this machine (ls, rm)" },
	{ "serve", cmd_serve, "the hosting daemon: apps swapped out when idle, back on traffic" },
	{ "app", cmd_app, "apps of the daemon (create, ls, inspect, logs, rm, swap-out, swap-in)" },
	{ "hub", cmd_hub, "the control plane of many machines: registry, DNS, API, placement" },
	{ "tenant", cmd_tenant, "tenants of a hub (create, limit, ls, rm), on the hub's machine" },
	{ "worker", cmd_worker, "register this machine with a hub and heartbeat; worker ls" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: picocenter COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "picocenter: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}

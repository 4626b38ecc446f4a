/* box.c - `picocenter box ls|rm`: list and remove app boxes (box/box.h). */
#include <stdio.h>
#include <string.h>

#include "box/box.h"
#include "cli/cmd.h"
#include "common/err.h"

static int box_usage(void)
{
	fprintf(stderr,
		"usage: picocenter box ls [--box-dir DIR]\n"
		"       picocenter box rm [--box-dir DIR] NAME...\n"
		"       picocenter box prune [--box-dir DIR] [--subnet A.B.C.D/N]...\n"
		"       picocenter box sleep|wake [--box-dir DIR] NAME...\n"
		"       picocenter box hold [--box-dir DIR] [--timeout SEC] NAME -- CMD...\n"
		"ls: one line per box: name, address, processes, awake|asleep, rootfs.\n"
		"rm: kills what still runs in the box and removes all of it (cgroup,\n"
		"namespaces, veth, nftables elements, mounts, writable layer).\n"
		"prune: removes the nftables elements of boxes whose records are gone\n"
		"(addresses of DIR's subnets, or of --subnet, that no box of any box dir\n"
		"has); prints each address.  rm of a box without a record does it too.\n"
		"sleep: a box without processes keeps only its record and writable layer;\n"
		"wake (or a restore into it) makes the rest again, same address and ports.\n"
		"hold: holds the packets for an asleep box until CMD has revived it.\n");
	return 2;
}

/* box prune: args are the --subnet options. */
static int box_prune_cmd(const char *dir, int argc, char **argv)
{
	struct box_config nets[16];
	int n = 0;

	for (int i = 0; i < argc; i += 2) {
		if (strcmp(argv[i], "--subnet") || i + 1 == argc || n == 16)
			return box_usage();
		if (box_parse_subnet(argv[i + 1], &nets[n++]) < 0) {
			fprintf(stderr, "picocenter box prune: %s\n", err_msg());
			return 2;
		}
	}
	if (box_prune(dir, nets, n, stdout) < 0) {
		fprintf(stderr, "picocenter box prune: %s\n", err_msg());
		return 1;
	}
	return 0;
}

int cmd_box(int argc, char **argv)
{
	const char *dir = NULL;
	int i = 2, rc = 0;

	if (argc < 2)
		return box_usage();
	if (!strcmp(argv[1], "hold"))
		return cmd_box_hold(argc, argv);
	if (argc > 3 && !strcmp(argv[2], "--box-dir")) {
		dir = argv[3];
		i = 4;
	}
	if (!strcmp(argv[1], "prune"))
		return box_prune_cmd(dir, argc - i, argv + i);
	if (!strcmp(argv[1], "ls") && i == argc) {
		if (box_list(dir, stdout) < 0) {
			fprintf(stderr, "picocenter box ls: %s\n", err_msg());
			return 1;
		}
		return 0;
	}
	if (!strcmp(argv[1], "rm") && i < argc) {
		for (; i < argc; i++)
			if (box_remove(dir, argv[i]) < 0) {
				fprintf(stderr, "picocenter box rm: %s\n", err_msg());
				rc = 1;
			}
		return rc;
	}
	if ((strcmp(argv[1], "sleep") && strcmp(argv[1], "wake")) || i == argc)
		return box_usage();
	for (; i < argc; i++) {
		struct box b;

		if (box_open(dir, argv[i], &b) < 0 ||
		    (argv[1][0] == 's' ? box_sleep(&b) : box_wake(&b)) < 0) {
			fprintf(stderr, "picocenter box %s: %s\n", argv[1], err_msg());
			rc = 1;
		}
	}
	return rc;
}

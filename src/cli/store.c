/* store.c - `picocenter store ls|du|fsck|gc`: operator commands on a store. */
#include <stdio.h>

#include "cli/cmd.h"

int cmd_store(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "picocenter store: not built yet\n");
	return 2;
}

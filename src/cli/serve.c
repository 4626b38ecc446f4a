/* serve.c - `picocenter serve`: the hosting daemon in the foreground. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/server.h"
#include "cli/cmd.h"
#include "common/err.h"
#include "worker/daemon.h"

static int serve_usage(void)
{
	fprintf(stderr,
		"usage: picocenter serve --state-dir DIR [--store URL] [--listen ADDR:PORT]\n"
		"                        [--bridge NAME] [--subnet A.B.C.D/N] [--subnet6 PREFIX/N|none]\n"
		"Hosts apps (picocenter app ...): registry, images (file://DIR/store unless\n"
		"--store) and the API socket DIR/api.sock live in DIR.  One line per event\n"
		"on stderr.  SIGINT/SIGTERM stop the daemon; apps stay as they are.\n"
		"New boxes get an address of --subnet (default 10.88.0.0/16) on the host\n"
		"bridge --bridge (default pcbr0), and an IPv6 address of --subnet6 (default\n"
		"a /64 of fd70:6963:6f00::/48 made from --subnet).\n");
	return 2;
}

int cmd_serve(int argc, char **argv)
{
	struct daemon_opts o = { 0 };

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--state-dir") && i + 1 < argc)
			o.state_dir = argv[++i];
		else if (!strcmp(argv[i], "--store") && i + 1 < argc)
			o.store_url = argv[++i];
		else if (!strcmp(argv[i], "--listen") && i + 1 < argc)
			o.listen = argv[++i];
		else if (!strcmp(argv[i], "--bridge") && i + 1 < argc)
			o.bridge = argv[++i];
		else if (!strcmp(argv[i], "--subnet") && i + 1 < argc)
			o.subnet = argv[++i];
		else if (!strcmp(argv[i], "--subnet6") && i + 1 < argc)
			o.subnet6 = argv[++i];
		else
			return serve_usage();
	}
	if (!o.state_dir)
		o.state_dir = getenv("PICOCENTER_STATE_DIR");
	if (!o.state_dir || !o.state_dir[0])
		return serve_usage();
	o.api_start = api_start;
	o.api_stop = api_stop;
	if (daemon_run(&o) < 0) {
		fprintf(stderr, "picocenter serve: %s\n", err_msg());
		return 1;
	}
	return 0;
}

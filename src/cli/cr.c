/* cr.c - `picocenter cr spawn|dump|restore|inspect|hold`: thin shell over cr/cr.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "common/err.h"
#include "cr/cr.h"
#include "worker/imagestore.h"

static int cr_usage(void)
{
	fprintf(stderr,
		"usage: picocenter cr spawn [--log FILE] -- CMD [ARGS...]\n"
		"       picocenter cr dump --pid PID (--dir DIR | --store URL --image NAME)\n"
		"                              [--leave-running] [--keep-listeners SOCKET]\n"
		"       picocenter cr restore (--dir DIR | --store URL --image NAME)\n"
		"                              [--listeners SOCKET] [--eager]\n"
		"       picocenter cr inspect --dir DIR\n"
		"       picocenter cr hold SOCKET\n"
		"--keep-listeners: listening and unbound-peer UDP sockets go to the holder\n"
		"(`cr hold SOCKET`) and keep queueing; --listeners takes them back.\n"
		"--store and --image: the image goes to/comes from an object store\n"
		"(see picocenter store); with --dir as well, DIR keeps a local copy.\n"
		"Restore resumes the tree before its large private memory is all in (a\n"
		"page server in the keeper fills it); --eager writes it all first.\n");
	return 2;
}

static int parse_pid(const char *s, pid_t *pid)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v <= 0 || v > 4194304)
		return err_set("bad pid '%s'", s);
	*pid = (pid_t)v;
	return 0;
}

static int cr_spawn_cmd(int argc, char **argv)
{
	struct cr_spawn_opts opts = { 0 };
	pid_t pid;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--log") && i + 1 < argc)
			opts.log = argv[++i];
		else if (!strcmp(argv[i], "--"))
			break;
		else
			return cr_usage();
	}
	if (i + 1 >= argc)
		return cr_usage();
	if (cr_spawn(argv + i + 1, &opts, &pid) < 0) {
		fprintf(stderr, "picocenter cr spawn: %s\n", err_msg());
		return 1;
	}
	printf("%d\n", (int)pid);
	return 0;
}

static int cr_dump_cmd(int argc, char **argv)
{
	struct cr_dump_opts opts = { 0 };
	const char *dir = NULL, *url = NULL, *image = NULL;
	pid_t pid = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pid") && i + 1 < argc) {
			if (parse_pid(argv[++i], &pid) < 0) {
				fprintf(stderr, "picocenter cr dump: %s\n", err_msg());
				return 2;
			}
		} else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
			dir = argv[++i];
		} else if (!strcmp(argv[i], "--store") && i + 1 < argc) {
			url = argv[++i];
		} else if (!strcmp(argv[i], "--image") && i + 1 < argc) {
			image = argv[++i];
		} else if (!strcmp(argv[i], "--keep-listeners") && i + 1 < argc) {
			opts.keep_listeners = argv[++i];
		} else if (!strcmp(argv[i], "--leave-running")) {
			opts.leave_running = 1;
		} else {
			return cr_usage();
		}
	}
	if (!pid || (!dir && !image) || (!url) != (!image))
		return cr_usage();
	if (image_dump_to(pid, dir, url, image, &opts, NULL) < 0) {
		fprintf(stderr, "picocenter cr dump: %s\n", err_msg());
		return 1;
	}
	return 0;
}

static int cr_restore_cmd(int argc, char **argv)
{
	const char *dir = NULL, *url = NULL, *image = NULL;
	struct cr_restore_opts opts = { 0 };
	pid_t pid;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--listeners") && i + 1 < argc)
			opts.listeners = argv[++i];
		else if (!strcmp(argv[i], "--eager"))
			opts.eager = 1;
		else if (!strcmp(argv[i], "--store") && i + 1 < argc)
			url = argv[++i];
		else if (!strcmp(argv[i], "--image") && i + 1 < argc)
			image = argv[++i];
		else
			return cr_usage();
	}
	if ((!dir && !image) || (!url) != (!image))
		return cr_usage();
	if (image_restore_from(dir, url, image, &opts, &pid, NULL) < 0) {
		fprintf(stderr, "picocenter cr restore: %s\n", err_msg());
		return 1;
	}
	printf("%d\n", (int)pid);
	return 0;
}

static int cr_inspect_cmd(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "--dir"))
		return cr_usage();
	if (cr_inspect(argv[2], stdout) < 0) {
		fprintf(stderr, "picocenter cr inspect: %s\n", err_msg());
		return 1;
	}
	return 0;
}

/* The custody holder in the foreground (stands in for the worker daemon). */
static int cr_hold_cmd(int argc, char **argv)
{
	if (argc != 2)
		return cr_usage();
	if (cr_hold(argv[1]) < 0) {
		fprintf(stderr, "picocenter cr hold: %s\n", err_msg());
		return 1;
	}
	return 0;
}

int cmd_cr(int argc, char **argv)
{
	if (argc < 2)
		return cr_usage();
	if (!strcmp(argv[1], "spawn"))
		return cr_spawn_cmd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "dump"))
		return cr_dump_cmd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "restore"))
		return cr_restore_cmd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "inspect"))
		return cr_inspect_cmd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "hold"))
		return cr_hold_cmd(argc - 1, argv + 1);
	return cr_usage();
}

/* cr.c - `picocenter cr spawn|dump|restore`: thin shell over cr/cr.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "common/err.h"
#include "cr/cr.h"

static int cr_usage(void)
{
	fprintf(stderr,
		"usage: picocenter cr spawn [--log FILE] -- CMD [ARGS...]\n"
		"       picocenter cr dump --pid PID --dir DIR [--leave-running]\n"
		"       picocenter cr restore --dir DIR\n");
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
	const char *dir = NULL;
	pid_t pid = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pid") && i + 1 < argc) {
			if (parse_pid(argv[++i], &pid) < 0) {
				fprintf(stderr, "picocenter cr dump: %s\n", err_msg());
				return 2;
			}
		} else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
			dir = argv[++i];
		} else if (!strcmp(argv[i], "--leave-running")) {
			opts.leave_running = 1;
		} else {
			return cr_usage();
		}
	}
	if (!pid || !dir)
		return cr_usage();
	if (cr_dump(pid, dir, &opts) < 0) {
		fprintf(stderr, "picocenter cr dump: %s\n", err_msg());
		return 1;
	}
	return 0;
}

static int cr_restore_cmd(int argc, char **argv)
{
	const char *dir = NULL;
	pid_t pid;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else
			return cr_usage();
	}
	if (!dir)
		return cr_usage();
	if (cr_restore(dir, &pid) < 0) {
		fprintf(stderr, "picocenter cr restore: %s\n", err_msg());
		return 1;
	}
	printf("%d\n", (int)pid);
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
	return cr_usage();
}

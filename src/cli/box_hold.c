/*
 * box_hold.c - `picocenter box hold`: hold the packets for one asleep box
 * until a command has revived it (box/hold.h), the first-packet hold
 * without the daemon, for tests and for trying the mechanism by hand.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "box/hold.h"
#include "cli/cmd.h"
#include "common/err.h"

static volatile sig_atomic_t hold_stop;

static void on_signal(int sig)
{
	(void)sig;
	hold_stop = 1;
}

static int hold_usage(void)
{
	fprintf(stderr,
		"usage: picocenter box hold [--box-dir DIR] [--timeout SEC] NAME -- CMD [ARGS...]\n"
		"Holds the packets for the asleep box NAME (its address, after the DNAT of\n"
		"its published ports) in the kernel; at the first one runs CMD (which wakes\n"
		"the box and restores its app), then lets the held packets go on and stops\n"
		"holding.  Prints 'armed QUEUE' once holding, 'held N' when CMD ends.\n");
	return 2;
}

/* Wait for a packet for addr: 1, 0 on timeout or signal, -1 on error. */
static int wait_for(struct box_hold *h, uint32_t addr, int timeout_s)
{
	struct pollfd p = { .fd = hold_fd(h), .events = POLLIN };
	uint32_t addrs[64];

	for (int waited = 0; waited < timeout_s * 10 && !hold_stop; waited++) {
		int n = poll(&p, 1, 100);

		if (n < 0 && errno != EINTR)
			return err_sys("poll");
		if (n <= 0)
			continue;
		n = hold_read(h, addrs, 64);
		if (n < 0)
			return -1;
		if (hold_count(h, addr) > 0)
			return 1;
	}
	return 0;
}

static int run_command(char **argv)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return err_sys("fork");
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "picocenter box hold: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return err_sys("wait for %s", argv[0]);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : err_set("%s failed", argv[0]);
}

static int hold_box(const char *dir, const char *name, int timeout_s, char **cmd)
{
	struct box_hold h;
	struct box b;
	int rc, ok;

	if (box_open(dir, name, &b) < 0 || hold_open_free(&h) < 0)
		return -1;
	if (hold_arm(h.queue, b.addr) < 0) {
		hold_remove(h.queue);
		hold_close(&h);
		return -1;
	}
	printf("armed %d\n", h.queue);
	fflush(stdout);
	rc = wait_for(&h, b.addr, timeout_s);
	if (rc == 0)
		err_set("no packet for %s within %d s", name, timeout_s);
	ok = rc > 0 && run_command(cmd) == 0;
	/* pick up what came meanwhile, so that it is released too */
	if (ok) {
		uint32_t addrs[64];

		hold_read(&h, addrs, 64);
		printf("held %d\n", hold_count(&h, b.addr));
		fflush(stdout);
	}
	hold_disarm(h.queue, b.addr);
	hold_release(&h, b.addr, ok);
	hold_remove(h.queue);
	hold_close(&h);
	return ok ? 0 : -1;
}

int cmd_box_hold(int argc, char **argv)
{
	const char *dir = NULL, *name = NULL;
	int timeout_s = 60, i = 2;
	struct sigaction sa = { .sa_handler = on_signal };

	for (; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--box-dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout_s = atoi(argv[++i]);
		else if (argv[i][0] != '-' && !name)
			name = argv[i];
		else
			return hold_usage();
	}
	if (!name || i + 1 >= argc || timeout_s <= 0 || timeout_s > 86400)
		return hold_usage();
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (hold_box(dir, name, timeout_s, argv + i + 1) < 0) {
		fprintf(stderr, "picocenter box hold: %s\n", err_msg());
		return 1;
	}
	return 0;
}

/*
 * forward.c - the host's forwarding, which boxes need for more than their
 * own bridge: a box's egress replies and a published port's packets from
 * other machines come in on the host's other interfaces, and the kernel
 * forwards only what comes in on an interface that forwards (IPv4: the
 * incoming interface's `forwarding`; IPv6: `all/forwarding`, or since
 * Linux 6.17 the incoming interface's `force_forwarding`).
 *
 * A host that forwarded nothing is made to forward for boxes only: the
 * caller adds a rule to picocenter's forward chain dropping every
 * forwarded packet that is neither from nor to a box (FWD_RULE4/6) in the
 * same transaction as the box's elements, and then fwd_enable() turns
 * forwarding on and leaves a mark in /run/picocenter, so that the rule
 * is made again with the table for as long as the kernel's setting lasts.
 * A host that already forwards is left alone.  IPv6 uses force_forwarding
 * on every interface (default, all and each existing one), never
 * all/forwarding, which would make every interface a router and stop it
 * taking router advertisements.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box/box_int.h"
#include "common/err.h"

#define MARK_DIR "/run/picocenter"
#define MARK4 MARK_DIR "/forwarding-ipv4"
#define MARK6 MARK_DIR "/forwarding-ipv6"
#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"
#define ALL6 "/proc/sys/net/ipv6/conf/all/forwarding"
#define FORCE6 "/proc/sys/net/ipv6/conf/default/force_forwarding"

static int read_flag(const char *path)
{
	char c = '0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (read(fd, &c, 1) != 1)
		c = '0';
	close(fd);
	return c != '0';
}

static int write_flag(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return err_sys("open %s", path);
	if (write(fd, "1", 1) != 1) {
		close(fd);
		return err_sys("write %s", path);
	}
	close(fd);
	return 0;
}

static int mark(const char *path)
{
	int fd;

	if (mkdir(MARK_DIR, 0755) < 0 && errno != EEXIST)
		return err_sys("mkdir %s", MARK_DIR);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys("create %s", path);
	close(fd);
	return 0;
}

/* 1 if the kernel forwards for picocenter's sake (its mark) or does not
 * forward at all (it will, for boxes only): the drop rule belongs. */
int fwd_ours(int family)
{
	if (family == 6) {
		if (read_flag(FORCE6) < 0)
			return 0;       /* no force_forwarding: left to the host */
		return access(MARK6, F_OK) == 0 || read_flag(ALL6) == 0;
	}
	return access(MARK4, F_OK) == 0 || read_flag(IP_FORWARD) == 0;
}

/* force_forwarding=1 on default, all and every interface there is. */
static int force_forwarding_everywhere(void)
{
	char path[300];
	struct dirent *e;
	DIR *d = opendir("/proc/sys/net/ipv6/conf");
	int rc = 0;

	if (!d)
		return err_sys("open /proc/sys/net/ipv6/conf");
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "lo"))
			continue;
		snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/force_forwarding",
			 e->d_name);
		if (write_flag(path) < 0 && errno != ENOENT)
			rc = -1;    /* an interface going away meanwhile is fine */
	}
	closedir(d);
	if (rc == 0)
		err_clear();
	return rc;
}

/* After the drop rule is in: turn forwarding on if the host had it off. */
int fwd_enable(int family)
{
	if (family == 6) {
		if (read_flag(FORCE6) != 0 || read_flag(ALL6) != 0)
			return 0;       /* none, done, or the host forwards */
		if (mark(MARK6) < 0 || force_forwarding_everywhere() < 0)
			return err_wrap("turn IPv6 forwarding on");
		return 0;
	}
	if (read_flag(IP_FORWARD) != 0)
		return 0;
	if (mark(MARK4) < 0 || write_flag(IP_FORWARD) < 0)
		return err_wrap("turn IPv4 forwarding on");
	return 0;
}

/*
 * verify.c - cr_verify(): prove that an image restores before the tree it
 * was taken from is killed.
 *
 * The trial runs in a child process with a network namespace of its own,
 * so the image's sockets (listening ports, connections, abstract unix
 * names) do not collide with the live tree's: loopback is up, every
 * address may be bound (ip_nonlocal_bind), every destination has a
 * route (a default route on loopback) and sockets are transparent (a
 * connection's source need not be local), so connections rebuild as they
 * would on the app's own host or in its box.  The tree is rebuilt up to the moment it
 * would resume (fds, memory, threads, registers, credentials, root and
 * cwd) and then killed; nothing of it runs and nothing stays.  Path-bound
 * unix sockets are bound under a trial name in their directory (the live
 * tree holds the real one) and removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/child_report.h"
#include "common/err.h"
#include "common/io.h"
#include "common/timing.h"
#include "cr/cr.h"
#include "cr/restore_ctx.h"

/* struct in6_rtmsg (linux/ipv6_route.h, which clashes with glibc's
 * headers). */
struct v6_rtmsg {
	struct in6_addr dst;
	struct in6_addr src;
	struct in6_addr gateway;
	uint32_t type;
	uint16_t dst_len;
	uint16_t src_len;
	uint32_t metric;
	unsigned long info;
	uint32_t flags;
	int ifindex;
};

static int write_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return err_sys("open %s", path);
	n = write(fd, value, strlen(value));
	close(fd);
	if (n != (ssize_t)strlen(value))
		return err_sys("write %s", path);
	return 0;
}

static int loopback_up(int sk)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(sk, SIOCGIFFLAGS, &ifr) < 0)
		return err_sys("lo: SIOCGIFFLAGS");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(sk, SIOCSIFFLAGS, &ifr) < 0)
		return err_sys("lo: SIOCSIFFLAGS up");
	return 0;
}

static int default_route_v4(int sk)
{
	struct rtentry rt;
	struct sockaddr_in *any;
	char dev[] = "lo";

	memset(&rt, 0, sizeof(rt));
	any = (struct sockaddr_in *)&rt.rt_dst;
	any->sin_family = AF_INET;
	any = (struct sockaddr_in *)&rt.rt_genmask;
	any->sin_family = AF_INET;
	rt.rt_flags = RTF_UP;
	rt.rt_dev = dev;
	if (ioctl(sk, SIOCADDRT, &rt) < 0)
		return err_sys("IPv4 default route on lo");
	return 0;
}

/* IPv6 may be disabled on the host: then there is nothing to route. */
static int default_route_v6(void)
{
	struct v6_rtmsg rt;
	int sk = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = 0;

	if (sk < 0)
		return errno == EAFNOSUPPORT ? 0 : err_sys("socket AF_INET6");
	memset(&rt, 0, sizeof(rt));
	rt.ifindex = (int)if_nametoindex("lo");
	rt.flags = RTF_UP;
	rt.metric = 1;
	if (ioctl(sk, SIOCADDRT, &rt) < 0 && errno != EEXIST)
		rc = err_sys("IPv6 default route on lo");
	close(sk);
	return rc;
}

static int trial_network(void)
{
	int sk, rc;

	if (unshare(CLONE_NEWNET) < 0)
		return err_sys("unshare network namespace");
	sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sk < 0)
		return err_sys("socket AF_INET");
	rc = loopback_up(sk);
	if (rc == 0)
		rc = default_route_v4(sk);
	close(sk);
	if (rc == 0)
		rc = write_sysctl("/proc/sys/net/ipv4/ip_nonlocal_bind", "1");
	if (rc == 0 && access("/proc/sys/net/ipv6", F_OK) == 0)
		rc = write_sysctl("/proc/sys/net/ipv6/ip_nonlocal_bind", "1");
	if (rc == 0 && access("/proc/sys/net/ipv6", F_OK) == 0)
		rc = default_route_v6();
	return rc < 0 ? err_wrap("trial network") : 0;
}

static void trial_child(const char *dir, const char *box_dir, int fd)
{
	char msg[ERR_MSG_MAX];
	int rc;

	rc = trial_network();
	if (rc == 0)
		rc = rst_trial(dir, box_dir);
	snprintf(msg, sizeof(msg), "%s", rc < 0 ? err_msg() : "");
	write_full(fd, msg, strlen(msg), -1);
	_exit(rc < 0 ? 1 : 0);
}

int cr_verify(const char *dir, const char *box_dir)
{
	char msg[ERR_MSG_MAX];
	struct child_report r;
	size_t got;
	int st;
	pid_t child;

	child = child_report_fork(&r, "verify");
	if (child < 0)
		return -1;
	if (child == 0)
		trial_child(dir, box_dir, r.wr);
	got = child_report_read(&r, msg, sizeof(msg) - 1);
	msg[got] = '\0';
	while (waitpid(child, &st, 0) < 0)
		if (errno != EINTR)
			return err_sys("verify: wait for the trial");
	timing_mark("dump: verify");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (got)
		return err_set("verify: the image does not restore: %s", msg);
	return err_set("verify: the trial restore died (status 0x%x)", st);
}

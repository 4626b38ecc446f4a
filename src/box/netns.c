/*
 * netns.c - a box's user, net, uts and ipc namespaces: made together by a
 * short-lived child (so the user namespace owns the others), its id maps
 * written (userns.c), kept alive by bind mounts at BOX/ns/{user,net,uts,
 * ipc}; the hostname, loopback, and a veth pair whose host end is on the
 * bridge and whose box end (eth0) has the box's addresses (IPv4, and IPv6
 * unless the box has none) and default routes via the bridge.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>
#include <linux/sched.h>

#include "box/box_int.h"
#include "common/err.h"

static const struct {
	const char *name;
	int type;
} kinds[] = { { "net", CLONE_NEWNET }, { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC },
	       { "user", CLONE_NEWUSER } };
#define NR_KINDS 4
#define NET 0
#define UTS 1

static void ns_path(const struct box *b, int i, char *path, size_t len)
{
	snprintf(path, len, "%s/ns/%s", b->path, kinds[i].name);
}

/* Keep the namespaces of the holder process pid at BOX/ns/. */
static int keep_namespaces(const struct box *b, pid_t pid)
{
	char path[BOX_PATH_MAX + 16], ns[64];

	for (int i = 0; i < NR_KINDS; i++) {
		int fd;

		ns_path(b, i, path, sizeof(path));
		fd = open(path, O_CREAT | O_EXCL | O_RDONLY | O_CLOEXEC, 0444);
		if (fd < 0)
			return err_sys("create %s", path);
		close(fd);
		snprintf(ns, sizeof(ns), "/proc/%d/ns/%s", pid, kinds[i].name);
		if (mount(ns, path, NULL, MS_BIND, NULL) < 0)
			return err_sys("bind %s", path);
	}
	return 0;
}

/* A child in new user, net, uts and ipc namespaces (the user namespace
 * owns the others) waits while its namespaces are mapped and kept, then
 * exits: *holder, reaped by the caller (later: its exit took 0.6-3 ms of
 * a wake when waited for at once). */
static int make_namespaces(const struct box *b, pid_t *holder)
{
	struct clone_args args;
	char dir[BOX_PATH_MAX + 8];
	int pfd[2], rc;
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s/ns", b->path);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_sys("mkdir %s", dir);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_sys("pipe");
	memset(&args, 0, sizeof(args));
	args.flags = CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC;
	args.exit_signal = SIGCHLD;
	pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0) {
		char c;

		close(pfd[1]);
		_exit(read(pfd[0], &c, 1) < 0);
	}
	close(pfd[0]);
	if (pid < 0) {
		close(pfd[1]);
		return err_sys("clone into new user, net, uts and ipc namespaces");
	}
	rc = userns_write_maps(b, pid);
	if (rc == 0)
		rc = keep_namespaces(b, pid);
	close(pfd[1]);
	*holder = pid;
	return rc;
}

static void reap(pid_t pid)
{
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
}

/* Run fn(b) inside the box's namespace of kind i (NET or UTS). */
static int in_ns(const struct box *b, int i, int (*fn)(const struct box *))
{
	char path[BOX_PATH_MAX + 16], self[64];
	int own, fd, rc;

	snprintf(self, sizeof(self), "/proc/thread-self/ns/%s", kinds[i].name);
	own = open(self, O_RDONLY | O_CLOEXEC);
	if (own < 0)
		return err_sys("open %s", self);
	ns_path(b, i, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, kinds[i].type) < 0) {
		rc = err_sys("enter %s", path);
	} else {
		rc = fn(b);
		if (setns(own, kinds[i].type) < 0)
			rc = err_sys("return to the caller's %s namespace", kinds[i].name);
	}
	if (fd >= 0)
		close(fd);
	close(own);
	return rc;
}

static uint32_t gateway_of(const struct box *b)
{
	return htonl(ntohl(b->cfg.subnet) + 1);
}

static int name_host(const struct box *b)
{
	if (sethostname(b->cfg.name, strlen(b->cfg.name)) < 0)
		return err_sys("sethostname %s", b->cfg.name);
	return 0;
}

static void gateway6_of(const struct box *b, uint8_t gw[16])
{
	addr6_of(&b->cfg, gateway_of(b), gw);
}

static int configure_eth0(const struct box *b)
{
	uint8_t gw6[16];
	int v6 = box_has_ipv6(b);

	if (v6)
		gateway6_of(b, gw6);
	if (rtnl_box_network("eth0", b->addr, b->cfg.prefix, gateway_of(b), v6 ? b->addr6 : NULL,
			     b->cfg.prefix6, gw6) < 0)
		return err_wrap("box network");
	return 0;
}

int netns_bridge_ensure(const struct box *b)
{
	uint8_t gw6[16];
	int v6 = box_has_ipv6(b);

	if (v6)
		gateway6_of(b, gw6);
	return rtnl_bridge_ensure(b->cfg.bridge, gateway_of(b), b->cfg.prefix, v6 ? gw6 : NULL,
				  b->cfg.prefix6);
}

static int make_veth(const struct box *b)
{
	char path[BOX_PATH_MAX + 16];
	uint8_t mac[6] = { 0x02, 0x50 }; /* locally administered, then the address */
	int fd, rc;

	memcpy(mac + 2, &b->addr, 4);
	if (netns_bridge_ensure(b) < 0)
		return -1;
	ns_path(b, 0, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys("open %s", path);
	rc = rtnl_veth_create(b->veth, "eth0", fd, mac, b->cfg.bridge);
	close(fd);
	if (rc < 0)
		return -1;
	return in_ns(b, NET, configure_eth0);
}

int netns_make(const struct box *b, pid_t *holder)
{
	*holder = -1;
	if (make_namespaces(b, holder) < 0 || in_ns(b, UTS, name_host) < 0) {
		struct err_saved e;

		err_save(&e);
		reap(*holder);
		*holder = -1;
		netns_destroy(b);
		return err_restore(&e);
	}
	return 0;
}

int netns_link(const struct box *b, pid_t holder)
{
	int rc = make_veth(b);

	reap(holder);
	return rc;
}

static int delete_eth0(const struct box *b)
{
	(void)b;
	return rtnl_link_delete("eth0");
}

/* 1 if the box's namespace of kind i is kept (BOX/ns/KIND mounted). */
static int ns_kept(const struct box *b, int i)
{
	char path[BOX_PATH_MAX + 16];
	struct statfs fs;

	ns_path(b, i, path, sizeof(path));
	return statfs(path, &fs) == 0 && fs.f_type == NSFS_MAGIC;
}

int netns_destroy(const struct box *b)
{
	char path[BOX_PATH_MAX + 16];
	int rc = 0;

	/* A box without its record has no veth name: its box end, deleted
	 * in its namespace, takes the pair at once (the namespace's own
	 * release would later, and meanwhile the host end would say that
	 * the address is in use: prune.c). */
	if (b->veth[0] ? rtnl_link_delete(b->veth) < 0
		       : ns_kept(b, NET) && in_ns(b, NET, delete_eth0) < 0)
		rc = -1;
	for (int i = 0; i < NR_KINDS; i++) {
		ns_path(b, i, path, sizeof(path));
		if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
			rc = err_sys("unmount %s", path);
		if (unlink(path) < 0 && errno != ENOENT)
			rc = err_sys("remove %s", path);
	}
	return rc;
}

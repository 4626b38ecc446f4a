/*
 * netns.c - a box's net, uts and ipc namespaces: made by the calling
 * thread (unshare, then back with setns), kept alive by bind mounts at
 * BOX/ns/{net,uts,ipc}; the hostname, loopback, and a veth pair whose
 * host end is on the bridge and whose box end (eth0) has the box's
 * address and a default route via the bridge.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box/box_int.h"
#include "common/err.h"

static const struct {
	const char *name;
	int type;
} kinds[] = { { "net", CLONE_NEWNET }, { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC } };
#define NR_KINDS 3

static void ns_path(const struct box *b, int i, char *path, size_t len)
{
	snprintf(path, len, "%s/ns/%s", b->path, kinds[i].name);
}

static int open_own(int fds[NR_KINDS])
{
	char path[64];

	for (int i = 0; i < NR_KINDS; i++)
		fds[i] = -1;
	for (int i = 0; i < NR_KINDS; i++) {
		snprintf(path, sizeof(path), "/proc/thread-self/ns/%s", kinds[i].name);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			return err_sys("open %s", path);
	}
	return 0;
}

static void close_all(int fds[NR_KINDS])
{
	for (int i = 0; i < NR_KINDS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Back to the namespaces in fds (the caller's); failing here is fatal. */
static int go_back(int fds[NR_KINDS])
{
	for (int i = 0; i < NR_KINDS; i++)
		if (setns(fds[i], kinds[i].type) < 0)
			return err_sys("return to the caller's %s namespace", kinds[i].name);
	return 0;
}

/* In the new namespaces: keep them, name the host, bring lo up. */
static int fill_new(const struct box *b)
{
	char path[BOX_PATH_MAX + 16], self[64];

	for (int i = 0; i < NR_KINDS; i++) {
		int fd;

		ns_path(b, i, path, sizeof(path));
		fd = open(path, O_CREAT | O_EXCL | O_RDONLY | O_CLOEXEC, 0444);
		if (fd < 0)
			return err_sys("create %s", path);
		close(fd);
		snprintf(self, sizeof(self), "/proc/thread-self/ns/%s", kinds[i].name);
		if (mount(self, path, NULL, MS_BIND, NULL) < 0)
			return err_sys("bind %s", path);
	}
	if (sethostname(b->cfg.name, strlen(b->cfg.name)) < 0)
		return err_sys("sethostname %s", b->cfg.name);
	return rtnl_link_up("lo");
}

static int make_namespaces(const struct box *b)
{
	char dir[BOX_PATH_MAX + 8];
	int own[NR_KINDS], rc;

	snprintf(dir, sizeof(dir), "%s/ns", b->path);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_sys("mkdir %s", dir);
	if (open_own(own) < 0) {
		close_all(own);
		return -1;
	}
	if (unshare(CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC) < 0) {
		close_all(own);
		return err_sys("unshare net+uts+ipc namespaces");
	}
	rc = fill_new(b);
	if (go_back(own) < 0)
		rc = -1;
	close_all(own);
	return rc;
}

/* Run fn(b) inside the box's network namespace. */
static int in_netns(const struct box *b, int (*fn)(const struct box *))
{
	char path[BOX_PATH_MAX + 16];
	int own, fd, rc;

	own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (own < 0)
		return err_sys("open /proc/thread-self/ns/net");
	ns_path(b, 0, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		rc = err_sys("enter %s", path);
	} else {
		rc = fn(b);
		if (setns(own, CLONE_NEWNET) < 0)
			rc = err_sys("return to the caller's network namespace");
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

static int configure_eth0(const struct box *b)
{
	if (rtnl_addr_add("eth0", b->addr, b->cfg.prefix) < 0 || rtnl_link_up("eth0") < 0 ||
	    rtnl_route_default("eth0", gateway_of(b)) < 0)
		return err_wrap("box network");
	return 0;
}

static int make_veth(const struct box *b)
{
	char path[BOX_PATH_MAX + 16];
	uint8_t mac[6] = { 0x02, 0x50 }; /* locally administered, then the address */
	int fd, rc;

	memcpy(mac + 2, &b->addr, 4);
	if (rtnl_bridge_ensure(b->cfg.bridge, gateway_of(b), b->cfg.prefix) < 0)
		return -1;
	ns_path(b, 0, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys("open %s", path);
	rc = rtnl_veth_create(b->veth, "eth0", fd, mac);
	close(fd);
	if (rc < 0 || rtnl_set_master(b->veth, b->cfg.bridge) < 0 ||
	    rtnl_port_isolate(b->veth) < 0 || rtnl_link_up(b->veth) < 0)
		return -1;
	return in_netns(b, configure_eth0);
}

int netns_create(const struct box *b)
{
	if (make_namespaces(b) < 0 || make_veth(b) < 0) {
		struct err_saved e;

		err_save(&e);
		netns_destroy(b);
		return err_restore(&e);
	}
	return 0;
}

int netns_destroy(const struct box *b)
{
	char path[BOX_PATH_MAX + 16];
	int rc = 0;

	if (b->veth[0] && rtnl_link_delete(b->veth) < 0)
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

int netns_join(const struct box *b)
{
	char path[BOX_PATH_MAX + 16];

	for (int i = 0; i < NR_KINDS; i++) {
		int fd;

		ns_path(b, i, path, sizeof(path));
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return err_sys("open %s", path);
		if (setns(fd, kinds[i].type) < 0) {
			close(fd);
			return err_sys("enter %s", path);
		}
		close(fd);
	}
	return 0;
}

/*
 * userns.c - a box's user namespace: its id maps (the box's 0..uids-1 to
 * the host ids of its range), the idmapped lower layer of its root, the
 * ownership of what the box must own (its upper layer), and the files of
 * the box's namespaces (BOX/ns/KIND).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box/box_int.h"
#include "common/err.h"

static int write_map(pid_t pid, const char *file, const char *map)
{
	char path[64];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys("open %s", path);
	n = write(fd, map, strlen(map));
	close(fd);
	if (n != (ssize_t)strlen(map))
		return err_sys("write %s", path);
	return 0;
}

int userns_write_maps(const struct box *b, pid_t pid)
{
	char map[64];

	snprintf(map, sizeof(map), "0 %" PRIu32 " %" PRIu32 "\n", b->uid_base, b->cfg.uids);
	if (write_map(pid, "uid_map", map) < 0 || write_map(pid, "gid_map", map) < 0)
		return err_wrap("user namespace of box %s", b->cfg.name);
	return 0;
}

int box_ns_open(const struct box *b, const char *kind)
{
	char path[BOX_PATH_MAX + 16];
	int fd;

	snprintf(path, sizeof(path), "%s/ns/%s", b->path, kind);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys("open %s", path);
	return fd;
}

int box_userns_fd(const struct box *b)
{
	return box_ns_open(b, "user");
}

int userns_idmapped_tree(const struct box *b, const char *path, const char *at)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP };
	int tree, ns, rc = 0;

	ns = box_ns_open(b, "user");
	if (ns < 0)
		return -1;
	tree = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0) {
		close(ns);
		return err_sys("open_tree %s", path);
	}
	attr.userns_fd = (uint64_t)ns;
	if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		rc = err_sys("idmap %s to box %s's ids", path, b->cfg.name);
	else if (move_mount(tree, "", AT_FDCWD, at, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		rc = err_sys("mount the idmapped %s on %s", path, at);
	close(tree);
	close(ns);
	return rc;
}

int userns_own(const struct box *b, const char *path)
{
	if (chown(path, b->uid_base, b->uid_base) < 0)
		return err_sys("chown %s to the box's root", path);
	return 0;
}

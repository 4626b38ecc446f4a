/*
 * lock.c - the box locks: one per box dir (its records and boxes) and
 * one for the machine (the choice of an address and of a uid range).
 * Each is an flock on a file, held by the fd returned until it is closed.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box/box_int.h"
#include "common/err.h"

int box_lock_dir(const char *dir)
{
	char path[BOX_PATH_MAX + 8];
	int fd;

	snprintf(path, sizeof(path), "%s/.lock", dir);
	fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys("open %s", path);
	if (flock(fd, LOCK_EX) < 0) {
		close(fd);
		return err_sys("lock %s", path);
	}
	return fd;
}

/* The choice of a box's address is serialized machine-wide, across box
 * dirs (another daemon's, another test's), until its veth exists (which
 * tells other boxes the address is taken, as its nftables elements do
 * later): two boxes of different dirs on one subnet took the same free
 * address, and the one that failed (its veth existed) removed the other's
 * veth and elements as its own.  Released before the nftables lock is
 * taken, so that it is never held while waiting for that one. */
#define CREATE_LOCK_DIR "/run/picocenter"

int box_lock_machine(void)
{
	if (mkdir(CREATE_LOCK_DIR, 0755) < 0 && errno != EEXIST)
		return err_sys("mkdir %s", CREATE_LOCK_DIR);
	return box_lock_dir(CREATE_LOCK_DIR);
}

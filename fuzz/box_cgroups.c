/*
 * box_cgroups.c - libFuzzer target for the parser of an image's
 * box-cgroups (src/box/cgtree.c): the cgroups an app made under its box's
 * cgroup, their settings and where each process is, read at restore
 * before any cgroup is made.  Crashes, leaks and undefined behaviour are
 * what it looks for; what the parser accepts is checked by
 * tests/box/t-cgtree.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "box/box_int.h"
#include "common/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];

	if (fd < 0) {
		fd = memfd_create("box-cgroups", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	cgtree_check(path);
	err_clear();
	return 0;
}

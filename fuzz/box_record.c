/*
 * box_record.c - libFuzzer target for the box record parser
 * (box_record_load, src/box/config.c): the key=value file that names a
 * box's address, ports, cgroups and uid range, read back from the box dir
 * and from images (box-config).
 *
 * An accepted record must hold a valid name, an address, a veth, a uid
 * range inside 32 bits that does not start in the host's first 65536 ids
 * and a size the box can use, ports within the limit, cgroup dirs under
 * /sys/fs/cgroup.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "box/box_int.h"

static void check(const struct box *b)
{
	const char *cg[5] = { b->cg.memory, b->cg.pids, b->cg.cpu, b->cg.freezer, b->cg.unified };

	if (!box_name_valid(b->cfg.name) || !b->addr || !b->veth[0] || !b->cfg.bridge[0])
		abort();
	if (b->uid_base < 65536 || b->cfg.uids < BOX_UIDS_MIN || b->cfg.uids > BOX_UIDS_MAX ||
	    (uint64_t)b->uid_base + b->cfg.uids > UINT32_MAX)
		abort();
	if (b->cfg.uid_pool_base < 65536 || !b->cfg.uid_pool_count ||
	    (uint64_t)b->cfg.uid_pool_base + b->cfg.uid_pool_count > UINT32_MAX)
		abort();
	if (b->cfg.nr_ports < 0 || b->cfg.nr_ports > BOX_MAX_PORTS)
		abort();
	if (strcmp(b->cfg.rootfs, "host") && b->cfg.rootfs[0] != '/')
		abort();
	for (int i = 0; i < 5; i++)
		if (cg[i][0] && (strncmp(cg[i], "/sys/fs/cgroup/", 15) || strstr(cg[i], "/..")))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct box b;

	if (fd < 0) {
		fd = memfd_create("box-record", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	if (box_record_load(path, "/run/picocenter/boxes/x", &b) == 0)
		check(&b);
	return 0;
}

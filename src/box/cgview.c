/*
 * cgview.c - what a box sees of its cgroups at /sys/fs/cgroup, mounted by
 * its first process (rootfs_enter, before the pivot, cwd the new root;
 * in the box's user and cgroup namespaces, so a cgroup mount's root is the
 * box's own cgroup).
 *
 * Where all of the box's controllers are on cgroup v2: its delegated v2
 * cgroup at /sys/fs/cgroup.  On a hybrid host (some on v1, as systemd
 * lays it out: each v1 hierarchy at /sys/fs/cgroup/CONTROLLERS) the box
 * sees the host's layout: a read-only tmpfs at /sys/fs/cgroup holding,
 * under the host's names, each v1 hierarchy the box has a cgroup in,
 * read-only (its limits are the host's; an app reads them there, as a
 * JVM does for its heap), a symlink per controller of a hierarchy that
 * has several (cpu -> cpu,cpuacct), and its delegated v2 cgroup at
 * /sys/fs/cgroup/unified.
 *
 * No allocation here: the process was cloned from a threaded one.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "box/box_int.h"
#include "common/err.h"

#define CG_ROOT "sys/fs/cgroup"
#define CG_MNT "/sys/fs/cgroup/"
#define NSE (MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* The v1 hierarchy's dir under /sys/fs/cgroup of the cgroup dir d
 * ("/sys/fs/cgroup/memory/a/pcbox-x": "memory") into name. */
static int hierarchy_of(const char *d, char *name, size_t len)
{
	size_t n;

	if (strncmp(d, CG_MNT, strlen(CG_MNT)))
		return err_set("cgroup %s: not under " CG_MNT, d);
	d += strlen(CG_MNT);
	n = strcspn(d, "/");
	if (n == 0 || n >= len || strspn(d, "abcdefghijklmnopqrstuvwxyz0123456789_,") < n)
		return err_set("cgroup hierarchy of %s: not a list of controllers", d - strlen(CG_MNT));
	memcpy(name, d, n);
	name[n] = '\0';
	return 0;
}

static int mount_v1(const char *name)
{
	char dst[128], ctl[64];

	snprintf(dst, sizeof(dst), CG_ROOT "/%.63s", name);
	if (mkdir(dst, 0755) < 0 && errno != EEXIST)
		return err_sys("mkdir %s", dst);
	if (mount("cgroup", dst, "cgroup", NSE | MS_RDONLY, name) < 0)
		return err_sys("mount cgroup %s on %s", name, dst);
	if (!strchr(name, ','))
		return 0;
	for (const char *p = name; *p;) {      /* cpu -> cpu,cpuacct */
		size_t n = strcspn(p, ",");

		snprintf(ctl, sizeof(ctl), CG_ROOT "/%.*s", (int)n, p);
		if (symlink(name, ctl) < 0 && errno != EEXIST)
			return err_sys("symlink %s", ctl);
		p += n + (p[n] == ',');
	}
	return 0;
}

int cgview_mount(const struct box *b)
{
	const struct box_cgroup *cg = &b->cg;
	const char *v1[4] = { cg->memory_v2 ? "" : cg->memory, cg->pids_v2 ? "" : cg->pids,
			      cg->cpu_v2 ? "" : cg->cpu, cg->freezer_v2 ? "" : cg->freezer };
	char names[4][64];
	int n = 0;

	for (int i = 0; i < 4; i++) {
		if (!v1[i][0])
			continue;
		int seen = 0;

		if (hierarchy_of(v1[i], names[n], sizeof(names[n])) < 0)
			return -1;
		for (int j = 0; j < n; j++)
			seen |= !strcmp(names[j], names[n]);   /* one hierarchy, two controllers */
		if (!seen)
			n++;
	}
	if (n == 0)
		return cg->unified[0] && mount("cgroup2", CG_ROOT, "cgroup2", NSE, NULL) < 0
			? err_sys("mount cgroup2 on " CG_ROOT) : 0;
	/* The tmpfs and its dirs are made as the box's root: this process's
	 * ids are not mapped in the box yet (mkdir: EOVERFLOW). */
	syscall(SYS_setfsgid, 0);
	syscall(SYS_setfsuid, 0);
	if (mount("tmpfs", CG_ROOT, "tmpfs", NSE, "mode=755,size=16k") < 0)
		return err_sys("mount tmpfs on " CG_ROOT);
	for (int i = 0; i < n; i++)
		if (mount_v1(names[i]) < 0)
			return -1;
	if (cg->unified[0] && (mkdir(CG_ROOT "/unified", 0755) < 0 ||
			       mount("cgroup2", CG_ROOT "/unified", "cgroup2", NSE, NULL) < 0))
		return err_sys("mount cgroup2 on " CG_ROOT "/unified");
	if (mount(NULL, CG_ROOT, NULL, MS_REMOUNT | MS_RDONLY | NSE, "mode=755,size=16k") < 0)
		return err_sys("remount " CG_ROOT " read-only");
	return 0;
}

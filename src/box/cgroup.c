/*
 * cgroup.c - a box's cgroup: "pcbox-DIRID-NAME" under the caller's own
 * cgroup (DIRID: a short id of the boxes dir, so that boxes of one name in
 * two box dirs, two daemons', do not share a cgroup; boxes made before it
 * keep the "pcbox-NAME" their record names) in each hierarchy that serves one of its controllers (memory, pids, cpu,
 * freezer), on cgroup v1 where a controller is bound there and on v2
 * otherwise; limits, delegation of the v2 cgroup to the box's root,
 * freezing and removal.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "box/box_int.h"
#include "common/err.h"
#include "common/io.h"

#define CG_PREFIX "pcbox-"
#define CG_WAIT_MS 3000

/* One line of /proc/self/mountinfo: 1 and its mount point, filesystem
 * type and super options if it is a cgroup or cgroup2 mount, else 0. */
static int cgroup_mount_line(const char *line, char point[2048], char type[64], char opts[1024])
{
	const char *sep = strstr(line, " - ");

	if (!sep || sscanf(line, "%*s %*s %*s %*s %2047s", point) != 1 ||
	    sscanf(sep + 3, "%63s %*s %1023s", type, opts) != 2)
		return 0;
	return !strcmp(type, "cgroup") || !strcmp(type, "cgroup2");
}

static int has_option(char *opts, const char *opt)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(opts, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (!strcmp(tok, opt))
			return 1;
	return 0;
}

/* The mount point of the hierarchy with controller ctl (v1), or of the
 * cgroup2 hierarchy (ctl NULL). */
static int find_mount(const char *ctl, char *mnt, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int found = 0;

	if (!f)
		return err_sys("open /proc/self/mountinfo");
	while (!found && fgets(line, sizeof(line), f)) {
		char point[2048], type[64], opts[1024];

		if (!cgroup_mount_line(line, point, type, opts) ||
		    strcmp(type, ctl ? "cgroup" : "cgroup2"))
			continue;
		found = ctl ? has_option(opts, ctl) : 1;
		if (found && (size_t)snprintf(mnt, len, "%s", point) >= len)
			found = 0;
	}
	fclose(f);
	return found;
}

/* Our own cgroup path in the hierarchy with ctl (v1), or in v2 (NULL). */
static int self_path(const char *ctl, char *path, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int found = 0;

	if (!f)
		return err_sys("open /proc/self/cgroup");
	while (!found && fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		char *nl = strchr(line, '\n');

		if (!c2)
			continue;
		if (nl)
			*nl = '\0';
		*c2 = '\0';
		if (ctl) {
			char *tok, *save = NULL;

			for (tok = strtok_r(c1 + 1, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
				if (!strcmp(tok, ctl))
					found = 1;
		} else {
			found = c1 == line + 1 && line[0] == '0' && c2 == c1 + 1;
		}
		if (found && (size_t)snprintf(path, len, "%s", c2 + 1) >= len)
			found = 0;
	}
	fclose(f);
	return found;
}

/* The cgroup's own name for box name of the boxes dir dir:
 * CG_PREFIX, 8 hex digits of the FNV-1a hash of dir's path, '-', name. */
static void cg_name(const char *dir, const char *name, char *out, size_t len)
{
	uint32_t h = 2166136261u;

	for (const char *p = dir; *p; p++)
		if (*p != '/' || (p[1] && p[1] != '/'))   /* "/a//b/" is "/a/b" */
			h = (h ^ (uint8_t)*p) * 16777619u;
	snprintf(out, len, CG_PREFIX "%08" PRIx32 "-%s", h, name);
}

static int join_dir(char *out, const char *mnt, const char *self, const char *name)
{
	if (!strcmp(self, "/"))
		self = "";
	if ((size_t)snprintf(out, BOX_PATH_MAX, "%s%s/%s", mnt, self, name) >= BOX_PATH_MAX)
		return err_set("cgroup path too long");
	return 0;
}

static int v2_has(const char *v2parent, const char *ctl)
{
	char path[BOX_PATH_MAX + 32], buf[512], *tok, *save = NULL;
	int found = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/cgroup.controllers", v2parent);
	n = read_small(path, buf, sizeof(buf));
	if (n <= 0)
		return 0;
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (!strcmp(tok, ctl))
			found = 1;
	return found;
}

/* One controller: v1 if a v1 hierarchy has it, else v2 if available. */
static int plan_one(const char *ctl, const char *name, const char *v2dir, char *dir, int *v2)
{
	char mnt[2048], self[2048];
	int r;

	dir[0] = '\0';
	*v2 = 0;
	r = find_mount(ctl, mnt, sizeof(mnt));
	if (r < 0)
		return -1;
	if (r > 0) {
		r = self_path(ctl, self, sizeof(self));
		if (r < 0)
			return -1;
		if (r > 0)
			return join_dir(dir, mnt, self, name);
	}
	if (v2dir[0]) {
		char parent[BOX_PATH_MAX];

		snprintf(parent, sizeof(parent), "%s", v2dir);
		*strrchr(parent, '/') = '\0';
		if (!strcmp(ctl, "freezer") || v2_has(parent, ctl)) {
			strcpy(dir, v2dir);
			*v2 = 1;
		}
	}
	return 0;
}

int cg_plan(const char *dir, const char *box, struct box_cgroup *cg)
{
	char mnt[2048], self[2048], name[BOX_NAME_MAX + 32];
	int r;

	memset(cg, 0, sizeof(*cg));
	cg_name(dir, box, name, sizeof(name));
	r = find_mount(NULL, mnt, sizeof(mnt));
	if (r > 0)
		r = self_path(NULL, self, sizeof(self));
	if (r < 0)
		return -1;
	if (r > 0 && join_dir(cg->unified, mnt, self, name) < 0)
		return -1;
	if (plan_one("memory", name, cg->unified, cg->memory, &cg->memory_v2) < 0 ||
	    plan_one("pids", name, cg->unified, cg->pids, &cg->pids_v2) < 0 ||
	    plan_one("cpu", name, cg->unified, cg->cpu, &cg->cpu_v2) < 0 ||
	    plan_one("freezer", name, cg->unified, cg->freezer, &cg->freezer_v2) < 0)
		return -1;
	return 0;
}

int cg_write(const char *dir, const char *file, const char *val)
{
	char path[BOX_PATH_MAX + 64];
	size_t len = strlen(val);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys("open %s", path);
	if (write(fd, val, len) != (ssize_t)len) {
		err_sys("write '%s' to %s", val, path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int cg_read(const char *dir, const char *file, char *buf, size_t len)
{
	char path[BOX_PATH_MAX + 64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys("open %s", path);
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return err_sys("read %s", path);
	buf[n] = '\0';
	return 0;
}

/* The distinct cgroup dirs of a box (v2 controllers share one). */
static int cg_dirs(const struct box_cgroup *cg, const char *dirs[5])
{
	const char *all[5] = { cg->unified, cg->memory, cg->pids, cg->cpu, cg->freezer };
	int n = 0;

	for (int i = 0; i < 5; i++) {
		int dup = !all[i][0];

		for (int j = 0; j < n && !dup; j++)
			dup = !strcmp(dirs[j], all[i]);
		if (!dup)
			dirs[n++] = all[i];
	}
	return n;
}

static int enable_v2(const char *dir, const char *ctl)
{
	char parent[BOX_PATH_MAX], val[32];

	snprintf(parent, sizeof(parent), "%s", dir);
	*strrchr(parent, '/') = '\0';
	snprintf(val, sizeof(val), "+%s", ctl);
	return cg_write(parent, "cgroup.subtree_control", val);
}

static int set_limits(const struct box *b)
{
	const struct box_config *c = &b->cfg;
	const struct box_cgroup *cg = &b->cg;
	char v[32];

	if (c->memory) {
		if (!cg->memory[0])
			return err_set("no memory controller for --memory");
		snprintf(v, sizeof(v), "%" PRIu64, c->memory);
		if (cg->memory_v2) {
			if (enable_v2(cg->memory, "memory") < 0 ||
			    cg_write(cg->memory, "memory.max", v) < 0 ||
			    cg_write(cg->memory, "memory.swap.max", "0") < 0)
				return -1;
		} else {
			char p[BOX_PATH_MAX + 32];

			if (cg_write(cg->memory, "memory.limit_in_bytes", v) < 0 ||
			    cg_write(cg->memory, "memory.swappiness", "0") < 0)
				return -1;
			snprintf(p, sizeof(p), "%s/memory.memsw.limit_in_bytes", cg->memory);
			if (access(p, F_OK) == 0 &&
			    cg_write(cg->memory, "memory.memsw.limit_in_bytes", v) < 0)
				return -1;
		}
	}
	if (c->pids) {
		if (!cg->pids[0])
			return err_set("no pids controller for --pids");
		snprintf(v, sizeof(v), "%" PRIu32, c->pids);
		if ((cg->pids_v2 && enable_v2(cg->pids, "pids") < 0) ||
		    cg_write(cg->pids, "pids.max", v) < 0)
			return -1;
	}
	if (c->cpu_weight && cg->cpu[0]) {
		if (cg->cpu_v2) {
			snprintf(v, sizeof(v), "%" PRIu32, c->cpu_weight);
			if (enable_v2(cg->cpu, "cpu") < 0 || cg_write(cg->cpu, "cpu.weight", v) < 0)
				return -1;
		} else {
			snprintf(v, sizeof(v), "%" PRIu64, (uint64_t)c->cpu_weight * 1024 / 100 + 2);
			if (cg_write(cg->cpu, "cpu.shares", v) < 0)
				return -1;
		}
	}
	return 0;
}

/* The box's v2 cgroup belongs to its root (the delegation of cgroup v2:
 * the dir and the files that move processes and enable controllers), so
 * that the box manages what is under it; the limits stay the host's. */
int cg_own(const struct box *b, const char *dir)
{
	static const char *const files[] = { "", "/cgroup.procs", "/cgroup.threads",
					     "/cgroup.subtree_control" };
	char path[BOX_PATH_MAX + 32];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", dir, files[i]);
		if (userns_own(b, path) < 0)
			return -1;
	}
	return 0;
}

static int delegate(const struct box *b)
{
	return b->cg.unified[0] ? cg_own(b, b->cg.unified) : 0;
}

int cg_create(const struct box *b)
{
	const char *dirs[5];
	int n = cg_dirs(&b->cg, dirs);

	for (int i = 0; i < n; i++)
		if (mkdir(dirs[i], 0755) < 0) {
			err_sys("mkdir cgroup %s", dirs[i]);
			goto undo;
		}
	if (set_limits(b) < 0 || delegate(b) < 0)
		goto undo;
	return 0;
undo: {
		struct err_saved e;

		err_save(&e);
		cg_destroy(&b->cg);
		return err_restore(&e);
	}
}

static void sleep_ms(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

/* Kill every process in dir; 1 if it had none left. */
static int kill_all(const char *dir)
{
	char buf[65536], *p, *end;
	int any = 0;

	if (cg_read(dir, "cgroup.procs", buf, sizeof(buf)) < 0)
		return 1;
	for (p = buf; *p; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (pid > 0 && kill((pid_t)pid, SIGKILL) == 0)
			any = 1;
		while (*end == '\n')
			end++;
	}
	return !any;
}

/* The cgroups the box made under its delegated v2 cgroup dir, deepest
 * first (their processes were killed with cgroup.kill). */
static int remove_children(const char *dir, int depth)
{
	struct dirent *e;
	DIR *d;
	int rc = 0;

	if (depth > 32)
		return err_set("cgroup %s: nested too deep", dir);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : err_sys("open cgroup %s", dir);
	while (rc == 0 && (e = readdir(d))) {
		char sub[BOX_PATH_MAX + 256];

		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name) >= sizeof(sub))
			rc = err_set("cgroup %s/%s: path too long", dir, e->d_name);
		else if (remove_children(sub, depth + 1) == 0) {
			for (int t = 0; rmdir(sub) < 0 && errno == EBUSY && t < CG_WAIT_MS / 10; t++)
				sleep_ms(10);
			if (access(sub, F_OK) == 0)
				rc = err_sys("remove cgroup %s", sub);
		} else {
			rc = -1;
		}
	}
	closedir(d);
	return rc;
}

static void kill_subtree(const char *dir)
{
	char path[BOX_PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
	if (access(path, F_OK) == 0)
		cg_write(dir, "cgroup.kill", "1");
	err_clear();
}

/* The box's memory cgroup is emptied before it goes: v1's force_empty
 * also drains the kernel's per-CPU caches of charges.  Without it every
 * removal left a dying memory cgroup (110-140 KB of slab each here, one
 * per sleep), though a napping box's memory.stat read 0 charged.  Best
 * effort: pages in use elsewhere would stay, and so would the cgroup. */
static void reclaim_memory(const struct box_cgroup *cg)
{
	char cur[32];

	if (cg->memory_v2) {
		if (cg_read(cg->memory, "memory.current", cur, sizeof(cur)) == 0 && atoll(cur) > 0)
			cg_write(cg->memory, "memory.reclaim", cur);
	} else {
		cg_write(cg->memory, "memory.force_empty", "0");
	}
	err_clear();
}

int cg_destroy(const struct box_cgroup *cg)
{
	const char *dirs[5];
	int n = cg_dirs(cg, dirs), rc = 0;

	if (cg->freezer[0])
		box_thaw(&(struct box){ .cg = *cg });
	err_clear();
	for (int i = 0; i < n; i++) {
		if (access(dirs[i], F_OK) < 0)
			continue;
		if (dirs[i] == cg->unified) {
			kill_subtree(dirs[i]);
			if (remove_children(dirs[i], 0) < 0)
				rc = -1;
		}
		for (int t = 0; !kill_all(dirs[i]) && t < CG_WAIT_MS / 10; t++)
			sleep_ms(10);
		if (cg->memory[0] && !strcmp(dirs[i], cg->memory))
			reclaim_memory(cg);
		for (int t = 0; rmdir(dirs[i]) < 0 && errno == EBUSY && t < CG_WAIT_MS / 10; t++)
			sleep_ms(10);
		if (access(dirs[i], F_OK) == 0)
			rc = err_sys("remove cgroup %s", dirs[i]);
	}
	return rc;
}

int box_cgroup_fd(const struct box *b)
{
	if (!b->cg.unified[0])
		return -1;
	return open(b->cg.unified, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Moving a task between cgroups takes the kernel's threadgroup lock for
 * writing, which first waits for an RCU grace period (~10 ms) unless a
 * writer was there moments before.  A restore starts that wait early, by
 * "moving" a thread of its own into the cgroup it is in, so that the
 * tree's init joins its box without waiting (box_warm_cgroups), or
 * earlier still, before the image says which box (box_warm_early).
 * Neither is needed where the host favors dynamic modifications. */
struct warm_arg {
	char dir[BOX_PATH_MAX];   /* "": this process's own pids cgroup (v1) */
	const char *file;
};

static void *warm(void *arg)
{
	struct warm_arg *w = arg;
	char mnt[BOX_PATH_MAX], self[BOX_PATH_MAX], tid[32];

	if (!w->dir[0] && find_mount("pids", mnt, sizeof(mnt)) == 1 &&
	    self_path("pids", self, sizeof(self)) == 1 &&
	    (size_t)snprintf(w->dir, sizeof(w->dir), "%s%s", mnt,
			     strcmp(self, "/") ? self : "") >= sizeof(w->dir))
		w->dir[0] = '\0';
	snprintf(tid, sizeof(tid), "%d", gettid());
	if (w->dir[0])
		cg_write(w->dir, w->file, tid);
	free(w);
	return NULL;
}

static int start_warm(const char *dir, const char *file, pthread_t *thread)
{
	struct warm_arg *w = calloc(1, sizeof(*w));

	if (!w)
		return err_set("out of memory");
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	w->file = file;
	if (pthread_create(thread, NULL, warm, w) != 0) {
		free(w);
		return err_set("start a thread");
	}
	return 0;
}

/* A cgroup hierarchy mounted with favordynmods (docs/operations.md): the
 * kernel's threadgroup lock is then taken without a grace period, and
 * moving a task costs microseconds.  Read once per process. */
static int favoring;
static pthread_once_t favoring_once = PTHREAD_ONCE_INIT;

static void read_favoring(void)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return;             /* not known: as without it (warming is harmless) */
	while (!favoring && fgets(line, sizeof(line), f)) {
		char point[2048], type[64], opts[1024];

		if (cgroup_mount_line(line, point, type, opts))
			favoring = has_option(opts, "favordynmods");
	}
	fclose(f);
}

static int migrations_fast(void)
{
	pthread_once(&favoring_once, read_favoring);
	return favoring;
}

int box_migrations_wait(void)
{
	char mnt[2048];
	static const char *const v1[] = { "memory", "pids", "cpu", "freezer" };
	int any = 0;

	for (size_t i = 0; i < sizeof(v1) / sizeof(v1[0]); i++)
		any |= find_mount(v1[i], mnt, sizeof(mnt)) == 1;
	err_clear();
	return any && !migrations_fast();
}

int box_warm_cgroups(const struct box *b, pthread_t *thread)
{
	const struct box_cgroup *cg = &b->cg;
	const char *from = cg->pids[0] ? cg->pids : cg->freezer[0] ? cg->freezer : cg->unified;
	char dir[BOX_PATH_MAX];

	if (migrations_fast())
		return 1;
	if (!from[0])
		return err_set("box %s has no cgroup", b->cfg.name);
	snprintf(dir, sizeof(dir), "%s", from);
	*strrchr(dir, '/') = '\0';
	return start_warm(dir, strcmp(from, cg->unified) ? "tasks" : "cgroup.threads", thread);
}

int box_warm_early(pthread_t *thread)
{
	if (migrations_fast())
		return 1;
	return start_warm("", "tasks", thread);
}

int cg_nr_procs(const struct box_cgroup *cg)
{
	char buf[65536];
	const char *dir = cg->pids[0] ? cg->pids : cg->unified;
	int n = 0;

	if (!dir[0] || cg_read(dir, "cgroup.procs", buf, sizeof(buf)) < 0)
		return -1;
	for (char *p = buf; *p; p++)
		n += *p == '\n';
	return n;
}

static int wait_state(const char *dir, const char *file, const char *want)
{
	char buf[256];

	for (int t = 0; t < CG_WAIT_MS; t++) {
		if (cg_read(dir, file, buf, sizeof(buf)) < 0)
			return -1;
		if (strstr(buf, want))
			return 0;
		sleep_ms(1);
	}
	return err_set("%s/%s: no '%s' after %d ms", dir, file, want, CG_WAIT_MS);
}

int box_freeze(const struct box *b)
{
	const struct box_cgroup *cg = &b->cg;

	if (!cg->freezer[0])
		return err_set("box %s has no freezer", b->cfg.name);
	if (cg->freezer_v2) {
		if (cg_write(cg->freezer, "cgroup.freeze", "1") < 0 ||
		    wait_state(cg->freezer, "cgroup.events", "frozen 1") < 0)
			return err_wrap("freeze box %s", b->cfg.name);
		return 0;
	}
	if (cg_write(cg->freezer, "freezer.state", "FROZEN") < 0 ||
	    wait_state(cg->freezer, "freezer.state", "FROZEN") < 0) {
		cg_write(cg->freezer, "freezer.state", "THAWED");
		return err_wrap("freeze box %s", b->cfg.name);
	}
	return 0;
}

int box_thaw(const struct box *b)
{
	const struct box_cgroup *cg = &b->cg;

	if (!cg->freezer[0] || access(cg->freezer, F_OK) < 0)
		return 0;
	if (cg->freezer_v2)
		return cg_write(cg->freezer, "cgroup.freeze", "0");
	return cg_write(cg->freezer, "freezer.state", "THAWED");
}

/* The box's name in the cgroup component comp ("pcbox-..."): without
 * the dir's id when it has this dir's (returns 1), else (a box made
 * before the ids, or another dir's) all of it (returns 0). */
static int name_of_cgroup(const char *dir, const char *comp, char *name, size_t len)
{
	char mine[BOX_NAME_MAX + 32];
	size_t n;
	int own;

	cg_name(dir, "", mine, sizeof(mine));
	n = strlen(mine);
	own = !strncmp(comp, mine, n);
	snprintf(name, len, "%s", comp + (own ? n : strlen(CG_PREFIX)));
	return own;
}

/* 1 if one of the box's recorded cgroup dirs ends in /comp. */
int cg_has(const struct box *b, const char *comp)
{
	const char *dirs[] = { b->cg.unified, b->cg.memory, b->cg.pids, b->cg.cpu, b->cg.freezer };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		const char *slash = strrchr(dirs[i], '/');

		if (slash && !strcmp(slash + 1, comp))
			return 1;
	}
	return 0;
}

int cg_of_pid(const char *dir, pid_t pid, char *comp, size_t clen, char *name, size_t nlen)
{
	char path[64], line[4096];
	FILE *f;

	comp[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return err_sys("open %s", path);
	while (!comp[0] && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "/" CG_PREFIX);
		size_t n = p ? strcspn(p + 1, "/\n") : 0;

		if (p && n < clen) {
			memcpy(comp, p + 1, n);
			comp[n] = '\0';
		}
	}
	fclose(f);
	if (!comp[0])
		return 0;
	return name_of_cgroup(dir, comp, name, nlen) ? 1 : 2;
}

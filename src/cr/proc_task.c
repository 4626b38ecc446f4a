/*
 * proc_task.c - per-process and per-thread state from /proc: ids, zombie
 * status, comm, umask, personality, cwd/root, credentials, rlimits and the
 * mm layout (proc_read_proc, proc_read_thread; see proc.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <unistd.h>
#include <elf.h>

#include "common/err.h"
#include "cr/proc.h"

#define STAT_FIELDS 52          /* fields 1..52 of /proc/PID/stat */
#define DELETED_SUFFIX " (deleted)"

struct stat_info {
	char state;
	uint64_t f[STAT_FIELDS + 1];  /* f[n] = field n (n >= 4) */
};

/* ---- /proc/PID/stat ---- */

static int parse_stat_fields(char *s, struct stat_info *si)
{
	int field = 4;
	char *tok, *save;
	int64_t neg;

	if (s[0] != ' ' || !s[1] || s[2] != ' ')
		return -1;
	si->state = s[1];
	for (tok = strtok_r(s + 3, " \n", &save); tok && field <= STAT_FIELDS;
	     tok = strtok_r(NULL, " \n", &save), field++) {
		if (tok[0] == '-') {
			if (proc_parse_i64(tok, &neg, NULL) < 0)
				return -1;
			si->f[field] = (uint64_t)neg;
		} else if (proc_parse_u64(tok, 10, &si->f[field], NULL) < 0) {
			return -1;
		}
	}
	return field > STAT_FIELDS ? 0 : -1;
}

static int read_stat(pid_t pid, struct stat_info *si)
{
	char path[64], *buf, *rp;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (proc_slurp(pid, path, &buf, &len) < 0)
		return -1;
	memset(si, 0, sizeof(*si));
	rp = strrchr(buf, ')');  /* comm may itself contain ") " */
	rc = rp ? parse_stat_fields(rp + 1, si) : -1;
	free(buf);
	if (rc < 0)
		return err_set("pid %d: %s: malformed (need %d fields)", pid, path, STAT_FIELDS);
	return 0;
}

/* ---- pid translation with namespace checks ---- */

static int same_pidns(pid_t a, pid_t b, int *same)
{
	uint64_t da, ia, db, ib;

	if (proc_pidns_id(a, &da, &ia) < 0)
		return -1;
	if (proc_pidns_id(b, &db, &ib) < 0) {
		if (errno != ENOENT && errno != ESRCH)
			return -1;
		*same = 0;
		return 0;
	}
	*same = da == db && ia == ib;
	return 0;
}

/* pid's group or session (what; key: its /proc status line) in the
 * tree's pid namespace.  Its leader may be gone: a daemon that forked,
 * called setsid() and forked again leaves its process in a session (and
 * group) whose leader has exited; the restore makes it again
 * (restore_tree.c, session helpers). */
static int translate_leader(pid_t pid, const char *key, const char *what, int32_t *out)
{
	pid_t ns;

	if (proc_ns_leader(pid, key, &ns) < 0)
		return -1;
	if (ns == 0)
		return err_set("pid %d: its %s leader is outside the pid namespace (unsupported)",
			       pid, what);
	*out = ns;
	return 0;
}

static int translate_ids(pid_t pid, const struct stat_info *si, struct cr_proc *p)
{
	pid_t ns;
	int same;

	if (proc_ns_pid(pid, &ns) < 0)
		return -1;
	p->pid = ns;
	if (ns == 1) {
		p->ppid = 0;
	} else {
		if (si->f[4] == 0 || si->f[4] > INT_MAX)
			return err_set("pid %d: no parent", pid);
		if (same_pidns(pid, (pid_t)si->f[4], &same) < 0)
			return -1;
		if (!same)
			return err_set("pid %d: parent %llu is outside the pid namespace (unsupported)",
				       pid, (unsigned long long)si->f[4]);
		if (proc_ns_pid((pid_t)si->f[4], &ns) < 0)
			return -1;
		p->ppid = ns;
	}
	if (translate_leader(pid, "NSpgid", "process group", &p->pgid) < 0)
		return -1;
	return translate_leader(pid, "NSsid", "session", &p->sid);
}

/* ---- small files ---- */

static int read_comm(pid_t pid, const char *path, char comm[CR_COMM_LEN])
{
	char *buf;
	size_t len;

	if (proc_slurp(pid, path, &buf, &len) < 0)
		return -1;
	if (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	memset(comm, 0, CR_COMM_LEN);
	memcpy(comm, buf, len < CR_COMM_LEN - 1 ? len : CR_COMM_LEN - 1);
	free(buf);
	return 0;
}

static int read_personality(pid_t pid, uint32_t *pers)
{
	char path[64], *buf;
	size_t len;
	uint64_t x;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/personality", pid);
	if (proc_slurp(pid, path, &buf, &len) < 0)
		return -1;
	if (len && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	rc = proc_parse_u64(buf, 16, &x, NULL);
	free(buf);
	if (rc < 0 || x > UINT32_MAX)
		return err_set("pid %d: %s: malformed", pid, path);
	*pers = (uint32_t)x;
	return 0;
}

static int read_auxv(pid_t pid, struct cr_mm *mm)
{
	char path[64], *buf;
	size_t len, i, words;
	uint64_t w[2];

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	if (proc_slurp(pid, path, &buf, &len) < 0)
		return -1;
	words = len / sizeof(uint64_t);
	for (i = 0; i + 1 < words && i < CR_AUXV_MAX * 2; i += 2) {
		memcpy(w, buf + i * sizeof(uint64_t), sizeof(w));
		mm->auxv[i] = w[0];
		mm->auxv[i + 1] = w[1];
		if (w[0] == AT_NULL) {
			mm->nr_auxv = (uint32_t)(i + 2);
			free(buf);
			return 0;
		}
	}
	free(buf);
	return err_set("pid %d: %s: no AT_NULL within %d entries", pid, path, CR_AUXV_MAX);
}

/* readlink /proc/PID/NAME; a " (deleted)" target is an error. */
static int read_path_link(pid_t pid, const char *name, char **out)
{
	char path[64], *t;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	if (proc_readlink(pid, path, &t) < 0)
		return -1;
	len = strlen(t);
	if (len >= strlen(DELETED_SUFFIX) &&
	    !strcmp(t + len - strlen(DELETED_SUFFIX), DELETED_SUFFIX)) {
		err_set("pid %d: %s is deleted: %s (unsupported)", pid, path, t);
		free(t);
		return -1;
	}
	if (len >= CR_PATH_MAX) {
		err_set("pid %d: %s: path longer than %d", pid, path, CR_PATH_MAX);
		free(t);
		return -1;
	}
	*out = t;
	return 0;
}

/* The restore rebuilds a root or cwd from its path (chdir to the cwd,
 * then chroot to the root), resolved in root_fd (a box's root; -1: the
 * dumper's): refuse now a path that does not name the same directory
 * there (a mount only the tree sees, a directory moved meanwhile). */
int proc_check_dir(pid_t pid, const char *name, const char *path, int root_fd)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT };
	char link[64];
	struct stat want, got;
	int fd;

	snprintf(link, sizeof(link), "/proc/%d/%s", pid, name);
	if (stat(link, &want) < 0)
		return err_sys("pid %d: stat %s", pid, link);
	if (root_fd < 0)
		fd = open(path, (int)how.flags);
	else
		fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
	if (fd < 0 || fstat(fd, &got) < 0) {
		err_sys("pid %d: %s %s cannot be rebuilt at restore: open", pid, name, path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if (got.st_dev != want.st_dev || got.st_ino != want.st_ino)
		return err_set("pid %d: %s %s cannot be rebuilt at restore: that path names "
			       "another directory outside the tree (unsupported)", pid, name,
			       path);
	return 0;
}

/* ---- /proc/PID/status ---- */

/* Whitespace separated numbers of value into out[0..max). */
static int parse_list(char *value, int base, uint64_t *out, size_t max, size_t *n)
{
	char *tok, *save;
	size_t cnt = 0;

	for (tok = strtok_r(value, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (cnt == max || proc_parse_u64(tok, base, &out[cnt], NULL) < 0)
			return -1;
		cnt++;
	}
	*n = cnt;
	return 0;
}

static int parse_ids4(char *value, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	uint64_t v[4];
	size_t n;

	if (parse_list(value, 10, v, 4, &n) < 0 || n != 4)
		return -1;
	if (v[0] > UINT32_MAX || v[1] > UINT32_MAX || v[2] > UINT32_MAX || v[3] > UINT32_MAX)
		return -1;
	*a = (uint32_t)v[0];
	*b = (uint32_t)v[1];
	*c = (uint32_t)v[2];
	*d = (uint32_t)v[3];
	return 0;
}

static int parse_one(char *value, int base, uint64_t *out)
{
	size_t n;

	return parse_list(value, base, out, 1, &n) < 0 || n != 1 ? -1 : 0;
}

static int parse_groups(char *value, struct cr_creds *c)
{
	uint64_t g[64];
	size_t n, i;

	if (parse_list(value, 10, g, 64, &n) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (g[i] > UINT32_MAX)
			return -1;
		c->groups[i] = (uint32_t)g[i];
	}
	c->nr_groups = (uint32_t)n;
	return 0;
}

#define ST_UMASK   (1u << 0)
#define ST_UID     (1u << 1)
#define ST_GID     (1u << 2)
#define ST_GROUPS  (1u << 3)
#define ST_NNP     (1u << 4)
#define ST_NEEDED  (ST_UMASK | ST_UID | ST_GID | ST_GROUPS | ST_NNP)

/* One "Key:\tvalue" line; *seen gets the bit of a recognized key. */
static int status_line(char *key, char *value, struct cr_proc *p, uint32_t *seen, int *ncaps)
{
	struct cr_creds *c = &p->creds;
	static const char *const capkeys[5] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
	uint64_t *caps[5] = { &c->cap_inh, &c->cap_prm, &c->cap_eff, &c->cap_bnd, &c->cap_amb };
	uint64_t x;
	int i;

	if (!strcmp(key, "Umask")) {
		*seen |= ST_UMASK;
		if (parse_one(value, 8, &x) < 0 || x > 0777)
			return -1;
		p->umask = (uint32_t)x;
	} else if (!strcmp(key, "Uid")) {
		*seen |= ST_UID;
		return parse_ids4(value, &c->uid, &c->euid, &c->suid, &c->fsuid);
	} else if (!strcmp(key, "Gid")) {
		*seen |= ST_GID;
		return parse_ids4(value, &c->gid, &c->egid, &c->sgid, &c->fsgid);
	} else if (!strcmp(key, "Groups")) {
		*seen |= ST_GROUPS;
		return parse_groups(value, c);
	} else if (!strcmp(key, "NoNewPrivs")) {
		*seen |= ST_NNP;
		if (parse_one(value, 10, &x) < 0 || x > 1)
			return -1;
		c->no_new_privs = (uint32_t)x;
	} else {
		for (i = 0; i < 5; i++) {
			if (!strcmp(key, capkeys[i])) {
				(*ncaps)++;
				return parse_one(value, 16, caps[i]);
			}
		}
	}
	return 0;
}

static int read_status(pid_t pid, struct cr_proc *p)
{
	char path[64], *buf, *cur, *line, *colon;
	uint32_t seen = 0;
	int lineno = 0, ncaps = 0;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (proc_slurp(pid, path, &buf, &len) < 0)
		return -1;
	memset(&p->creds, 0, sizeof(p->creds));
	cur = buf;
	while ((line = proc_next_line(&cur))) {
		lineno++;
		colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		if (status_line(line, colon + 1, p, &seen, &ncaps) < 0) {
			err_set("pid %d: %s line %d: bad %s value", pid, path, lineno, line);
			free(buf);
			return -1;
		}
	}
	free(buf);
	if (seen != ST_NEEDED || ncaps != 5)
		return err_set("pid %d: %s: missing Umask/Uid/Gid/Groups/Cap*/NoNewPrivs", pid, path);
	return 0;
}

/* ---- /proc/PID/limits ---- */

static const struct {
	const char *name;
	int res;
} limit_names[] = {
	{ "Max cpu time", RLIMIT_CPU },
	{ "Max file size", RLIMIT_FSIZE },
	{ "Max data size", RLIMIT_DATA },
	{ "Max stack size", RLIMIT_STACK },
	{ "Max core file size", RLIMIT_CORE },
	{ "Max resident set", RLIMIT_RSS },
	{ "Max processes", RLIMIT_NPROC },
	{ "Max open files", RLIMIT_NOFILE },
	{ "Max locked memory", RLIMIT_MEMLOCK },
	{ "Max address space", RLIMIT_AS },
	{ "Max file locks", RLIMIT_LOCKS },
	{ "Max pending signals", RLIMIT_SIGPENDING },
	{ "Max msgqueue size", RLIMIT_MSGQUEUE },
	{ "Max nice priority", RLIMIT_NICE },
	{ "Max realtime priority", RLIMIT_RTPRIO },
	{ "Max realtime timeout", RLIMIT_RTTIME },
};

static int parse_limit_value(const char *tok, uint64_t *v)
{
	if (!tok)
		return -1;
	if (!strcmp(tok, "unlimited")) {
		*v = ~0ULL;
		return 0;
	}
	return proc_parse_u64(tok, 10, v, NULL);
}

/* One line: "NAME<spaces>SOFT<spaces>HARD<spaces>[UNITS]".  The values are
 * raw rlimit values whatever the units column says (seconds, us, bytes). */
static int limits_line(char *line, struct cr_rlimit *rl, uint32_t *seen)
{
	char *save, *soft, *hard;
	size_t i, nlen;

	for (i = 0; i < sizeof(limit_names) / sizeof(limit_names[0]); i++) {
		nlen = strlen(limit_names[i].name);
		if (strncmp(line, limit_names[i].name, nlen) || line[nlen] != ' ')
			continue;
		soft = strtok_r(line + nlen, " ", &save);
		hard = strtok_r(NULL, " ", &save);
		if (parse_limit_value(soft, &rl[limit_names[i].res].cur) < 0 ||
		    parse_limit_value(hard, &rl[limit_names[i].res].max) < 0)
			return -1;
		*seen |= 1u << limit_names[i].res;
		return 0;
	}
	return 0;  /* header or a resource this kernel added: ignore */
}

static int read_limits(pid_t pid, struct cr_rlimit rl[CR_NR_RLIMITS])
{
	char path[64], *buf, *cur, *line;
	uint32_t seen = 0;
	int lineno = 0;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/limits", pid);
	if (proc_slurp(pid, path, &buf, &len) < 0)
		return -1;
	memset(rl, 0, sizeof(*rl) * CR_NR_RLIMITS);
	cur = buf;
	while ((line = proc_next_line(&cur))) {
		lineno++;
		if (limits_line(line, rl, &seen) < 0) {
			err_set("pid %d: %s line %d: bad value", pid, path, lineno);
			free(buf);
			return -1;
		}
	}
	free(buf);
	if (seen != (1u << CR_NR_RLIMITS) - 1)
		return err_set("pid %d: %s: missing resources (found mask %#x)", pid, path, seen);
	return 0;
}

/* ---- putting it together ---- */

static void fill_mm_from_stat(const struct stat_info *si, struct cr_mm *mm)
{
	mm->start_code = si->f[26];
	mm->end_code = si->f[27];
	mm->start_stack = si->f[28];
	mm->start_data = si->f[45];
	mm->end_data = si->f[46];
	mm->start_brk = si->f[47];
	mm->brk = 0;                   /* not in /proc: the dumper finds it */
	mm->arg_start = si->f[48];
	mm->arg_end = si->f[49];
	mm->env_start = si->f[50];
	mm->env_end = si->f[51];
}

/* Everything a live process has beyond ids and comm. */
static int read_live(pid_t pid, const struct stat_info *si, struct cr_proc *p,
		     char **cwd, char **root, char **exe)
{
	struct cr_mm mm = { 0 };

	if (read_status(pid, p) < 0 || read_limits(pid, p->rlimits) < 0 ||
	    read_personality(pid, &p->personality) < 0 || read_auxv(pid, &mm) < 0)
		return -1;
	fill_mm_from_stat(si, &mm);
	if (read_path_link(pid, "cwd", cwd) < 0 || read_path_link(pid, "root", root) < 0 ||
	    read_path_link(pid, "exe", exe) < 0)
		return -1;
	p->mm = mm;
	return 0;
}

int proc_read_proc(pid_t host_pid, struct cr_proc *p)
{
	char path[64], *cwd = NULL, *root = NULL, *exe = NULL;
	struct stat_info si;

	if (read_stat(host_pid, &si) < 0 || translate_ids(host_pid, &si, p) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/comm", host_pid);
	if (read_comm(host_pid, path, p->comm) < 0)
		return -1;
	p->zombie = si.state == 'Z';
	/* num_threads counts a zombie itself until it is reaped: more means
	 * the leader exited while other threads live on */
	if (p->zombie && si.f[20] > 1)
		return err_set("pid %d: thread group leader exited, %llu threads live on (unsupported)",
			       host_pid, (unsigned long long)si.f[20] - 1);
	p->exit_signal = (int32_t)si.f[38];
	p->exit_code = p->zombie ? (int32_t)si.f[52] : 0;
	if (p->zombie)
		return 0;
	if (read_live(host_pid, &si, p, &cwd, &root, &exe) < 0) {
		free(cwd);
		free(root);
		free(exe);
		return -1;
	}
	p->cwd = cwd;
	p->root = root;
	p->mm.exe_path = exe;
	return 0;
}

void proc_free_proc_paths(struct cr_proc *p)
{
	free(p->cwd);
	free(p->root);
	free(p->mm.exe_path);
	p->cwd = p->root = p->mm.exe_path = NULL;
}

int proc_read_thread(pid_t host_pid, pid_t host_tid, struct cr_thread *t)
{
	char path[96];
	pid_t ns;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", host_pid, host_tid);
	if (read_comm(host_pid, path, t->comm) < 0)
		return -1;
	if (proc_ns_pid(host_tid, &ns) < 0)
		return err_wrap("pid %d thread %d", host_pid, host_tid);
	t->tid = ns;
	return 0;
}

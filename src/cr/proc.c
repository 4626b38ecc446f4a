/*
 * proc.c - /proc file helpers, the process tree of a PID namespace, the
 * threads of a process and host -> namespace pid translation (see proc.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/nsfs.h>

#include "common/err.h"
#include "cr/proc.h"

#define SLURP_FIRST (64u << 10)
#define SLURP_MAX (1u << 30)
#define NS_MAX_DEPTH 33        /* MAX_PID_NS_LEVEL is 32 */

/* ---- file helpers ---- */

static int slurp_fd(pid_t pid, const char *path, int fd, char **buf, size_t *len)
{
	size_t cap = SLURP_FIRST, n = 0;
	char *b = malloc(cap), *nb;
	ssize_t r;

	if (!b)
		return err_set("pid %d: %s: out of memory", pid, path);
	for (;;) {
		if (cap - n < 2) {
			if (cap >= SLURP_MAX) {
				free(b);
				return err_set("pid %d: %s: larger than %u bytes", pid, path, SLURP_MAX);
			}
			nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				return err_set("pid %d: %s: out of memory", pid, path);
			}
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(b);
			return err_sys("pid %d: read %s", pid, path);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

/* name relative to /proc/PID/, or an absolute path, into out. */
static const char *proc_path(char *out, size_t len, pid_t pid, const char *name)
{
	if (name[0] == '/')
		return name;
	snprintf(out, len, "/proc/%d/%s", pid, name);
	return out;
}

int proc_slurp(pid_t pid, const char *name, char **buf, size_t *len)
{
	char full[PATH_MAX];
	const char *path = proc_path(full, sizeof(full), pid, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return err_sys("pid %d: open %s", pid, path);
	rc = slurp_fd(pid, path, fd, buf, len);
	close(fd);
	return rc;
}

int proc_readlink(pid_t pid, const char *name, char **target)
{
	char full[PATH_MAX];
	const char *path = proc_path(full, sizeof(full), pid, name);
	size_t cap = 256;
	ssize_t r;
	char *b, *nb;

	b = malloc(cap);
	if (!b)
		return err_set("pid %d: readlink %s: out of memory", pid, path);
	for (;;) {
		r = readlink(path, b, cap);
		if (r < 0) {
			free(b);
			return err_sys("pid %d: readlink %s", pid, path);
		}
		if ((size_t)r < cap)
			break;
		if (cap >= (size_t)CR_PATH_MAX * 4) {
			free(b);
			return err_set("pid %d: readlink %s: target too long", pid, path);
		}
		cap *= 2;
		nb = realloc(b, cap);
		if (!nb) {
			free(b);
			return err_set("pid %d: readlink %s: out of memory", pid, path);
		}
		b = nb;
	}
	b[r] = '\0';
	*target = b;
	return 0;
}

char *proc_next_line(char **cur)
{
	char *line = *cur, *nl;

	if (!line || !*line)
		return NULL;
	nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		*cur = nl + 1;
	} else {
		*cur = line + strlen(line);
	}
	return line;
}

static int is_digit_in(char c, int base)
{
	if (c >= '0' && c <= '9')
		return c - '0' < base;
	if (base == 16)
		return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
	return 0;
}

int proc_parse_u64(const char *s, int base, uint64_t *v, char **end)
{
	unsigned long long x;
	char *e;

	if (!is_digit_in(*s, base))
		return -1;
	errno = 0;
	x = strtoull(s, &e, base);
	if (errno || e == s || (!end && *e))
		return -1;
	if (end)
		*end = e;
	*v = x;
	return 0;
}

int proc_parse_i64(const char *s, int64_t *v, char **end)
{
	long long x;
	char *e;

	if (!(*s == '-' && is_digit_in(s[1], 10)) && !is_digit_in(*s, 10))
		return -1;
	errno = 0;
	x = strtoll(s, &e, 10);
	if (errno || e == s || (!end && *e))
		return -1;
	if (end)
		*end = e;
	*v = x;
	return 0;
}

/* ---- pids and namespaces ---- */

int proc_pidns_id(pid_t pid, uint64_t *dev, uint64_t *ino)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	if (stat(path, &st) < 0)
		return err_sys("pid %d: stat %s", pid, path);
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

/* The value of "Key:" in a status buffer (NULL if absent), cut at '\n'. */
static char *status_field(char *buf, const char *key)
{
	size_t klen = strlen(key);
	char *line = buf;

	while (line && *line) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			char *v = line + klen + 1, *nl = strchr(v, '\n');

			if (nl)
				*nl = '\0';
			return v;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return NULL;
}

int proc_status_field(pid_t pid, const char *key, char *out, size_t len)
{
	char *buf, *v;
	size_t n;

	if (proc_slurp(pid, "status", &buf, &n) < 0)
		return -1;
	v = status_field(buf, key);
	if (!v) {
		free(buf);
		return err_set("pid %d: no %s in /proc/%d/status", pid, key, pid);
	}
	while (*v == ' ' || *v == '\t')
		v++;
	snprintf(out, len, "%s", v);
	free(buf);
	return 0;
}

/* The last number of status line "key:" of pid, as a pid (ppid may be 0). */
static int status_pid(pid_t pid, const char *key, pid_t min, pid_t *out)
{
	char *buf, *v, *last = NULL, *tok, *save;
	size_t len;
	uint64_t x;

	if (proc_slurp(pid, "status", &buf, &len) < 0)
		return -1;
	v = status_field(buf, key);
	for (tok = v ? strtok_r(v, " \t", &save) : NULL; tok; tok = strtok_r(NULL, " \t", &save))
		last = tok;
	if (!last || proc_parse_u64(last, 10, &x, NULL) < 0 || x < (uint64_t)min || x > INT_MAX) {
		free(buf);
		return err_set("pid %d: /proc/%d/status: no valid %s line", pid, pid, key);
	}
	free(buf);
	*out = (pid_t)x;
	return 0;
}

int proc_ns_pid(pid_t host_id, pid_t *ns_pid)
{
	return status_pid(host_id, "NSpid", 1, ns_pid);
}

int proc_ns_leader(pid_t host_id, const char *key, pid_t *ns_id)
{
	return status_pid(host_id, key, 0, ns_id);
}

/* ---- threads ---- */

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* Numeric entries of a /proc directory, sorted ascending. */
static int list_numeric_dir(pid_t pid, const char *path, size_t max, pid_t **out, size_t *n)
{
	DIR *d = opendir(path);
	struct dirent *de;
	pid_t *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	uint64_t x;

	if (!d)
		return err_sys("pid %d: opendir %s", pid, path);
	while ((errno = 0, de = readdir(d))) {
		if (proc_parse_u64(de->d_name, 10, &x, NULL) < 0 || x == 0 || x > INT_MAX)
			continue;
		if (cnt == max) {
			err_set("pid %d: %s: more than %zu entries", pid, path, max);
			goto fail;
		}
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				err_set("pid %d: %s: out of memory", pid, path);
				goto fail;
			}
			v = nv;
		}
		v[cnt++] = (pid_t)x;
	}
	if (errno) {
		err_sys("pid %d: readdir %s", pid, path);
		goto fail;
	}
	closedir(d);
	qsort(v, cnt, sizeof(*v), cmp_pid);
	*out = v;
	*n = cnt;
	return 0;
fail:
	closedir(d);
	free(v);
	return -1;
}

int proc_threads(pid_t host_pid, pid_t **tids, size_t *n)
{
	char path[64];
	pid_t *v;
	size_t cnt, i;

	snprintf(path, sizeof(path), "/proc/%d/task", host_pid);
	if (list_numeric_dir(host_pid, path, CR_MAX_THREADS, &v, &cnt) < 0)
		return -1;
	for (i = 0; i < cnt && v[i] != host_pid; i++)
		;
	if (i == cnt) {
		free(v);
		return err_set("pid %d: %s: no entry for the leader", host_pid, path);
	}
	memmove(v + 1, v, i * sizeof(*v));
	v[0] = host_pid;
	*tids = v;
	*n = cnt;
	return 0;
}

/* ---- the tree ---- */

struct ns_id {
	uint64_t dev, ino;
	int nested;                    /* below init's namespace */
};

struct tree_scan {
	pid_t init;
	struct ns_id root;             /* init's namespace */
	struct ns_id *seen;            /* verdicts for other namespaces */
	size_t nr_seen, cap_seen;
	pid_t *pids, *ppids;           /* members and their host parents */
	size_t nr, cap;
};

/* Is the namespace behind fd (consumed) a descendant of root? */
static int ns_is_below(pid_t pid, int fd, const struct ns_id *root, int *below)
{
	struct stat st;
	int depth, pfd;

	*below = 0;
	for (depth = 0; depth < NS_MAX_DEPTH; depth++) {
		pfd = ioctl(fd, NS_GET_PARENT);
		close(fd);
		if (pfd < 0) {
			if (errno == EPERM)  /* the top: not below root */
				return 0;
			return err_sys("pid %d: ioctl NS_GET_PARENT", pid);
		}
		fd = pfd;
		if (fstat(fd, &st) < 0) {
			close(fd);
			return err_sys("pid %d: fstat pid namespace", pid);
		}
		if (st.st_dev == root->dev && st.st_ino == root->ino) {
			close(fd);
			*below = 1;
			return 0;
		}
	}
	close(fd);
	return err_set("pid %d: pid namespace nesting deeper than %d", pid, NS_MAX_DEPTH);
}

/* Look up (or compute and remember) whether namespace id is below root. */
static int scan_nested_verdict(struct tree_scan *s, pid_t pid, uint64_t dev, uint64_t ino, int *nested)
{
	char path[64];
	struct ns_id *nv;
	size_t i;
	int fd;

	for (i = 0; i < s->nr_seen; i++) {
		if (s->seen[i].dev == dev && s->seen[i].ino == ino) {
			*nested = s->seen[i].nested;
			return 0;
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? (*nested = 0, 0) : err_sys("pid %d: open %s", pid, path);
	if (ns_is_below(pid, fd, &s->root, nested) < 0)
		return -1;
	if (s->nr_seen == s->cap_seen) {
		s->cap_seen = s->cap_seen ? s->cap_seen * 2 : 8;
		nv = realloc(s->seen, s->cap_seen * sizeof(*nv));
		if (!nv)
			return err_set("pid %d: out of memory", pid);
		s->seen = nv;
	}
	s->seen[s->nr_seen++] = (struct ns_id){ dev, ino, *nested };
	return 0;
}

static int scan_add_member(struct tree_scan *s, pid_t pid)
{
	pid_t *np, *npp, ppid = 0;

	errno = 0;
	if (status_pid(pid, "PPid", 0, &ppid) < 0) {
		if (errno != ENOENT && errno != ESRCH)
			return -1;
		err_clear();
		return 0;   /* ended since it was listed: the next round sees */
	}
	if (s->nr == CR_MAX_PROCS)
		return err_set("pid %d: more than %d processes in the pid namespace", s->init, CR_MAX_PROCS);
	if (s->nr == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		np = realloc(s->pids, s->cap * sizeof(*np));
		if (np)
			s->pids = np;
		npp = realloc(s->ppids, s->cap * sizeof(*npp));
		if (npp)
			s->ppids = npp;
		if (!np || !npp)
			return err_set("pid %d: out of memory", s->init);
	}
	s->pids[s->nr] = pid;
	s->ppids[s->nr] = ppid;
	s->nr++;
	return 0;
}

/* Classify one host process: member, nested (error) or unrelated. */
static int scan_one(struct tree_scan *s, pid_t pid)
{
	uint64_t dev = 0, ino = 0;
	int nested;

	if (proc_pidns_id(pid, &dev, &ino) < 0) {
		/* gone, or a protected host process: not ours (ours is stopped) */
		if (errno == ENOENT || errno == ESRCH || errno == EACCES || errno == EPERM)
			return 0;
		return -1;
	}
	if (dev == s->root.dev && ino == s->root.ino)
		return scan_add_member(s, pid);
	if (scan_nested_verdict(s, pid, dev, ino, &nested) < 0)
		return -1;
	if (nested)
		return err_set("pid %d: nested pid namespace unsupported", pid);
	return 0;
}

/* Order members parents first (breadth first from init) into out. */
static int scan_order(struct tree_scan *s, pid_t *out)
{
	size_t done = 0, emitted = 0, i;

	out[emitted++] = s->init;
	while (done < emitted) {
		pid_t parent = out[done++];

		for (i = 0; i < s->nr; i++)
			if (s->ppids[i] == parent && s->pids[i] != s->init)
				out[emitted++] = s->pids[i];
	}
	if (emitted == s->nr)
		return 0;
	for (i = 0; i < s->nr; i++) {
		size_t j;

		for (j = 0; j < emitted && out[j] != s->pids[i]; j++)
			;
		if (j == emitted)
			return err_set("pid %d: parent %d is outside the pid namespace (unsupported)",
				       s->pids[i], s->ppids[i]);
	}
	return err_set("pid %d: inconsistent process tree", s->init);
}

int proc_tree_list(pid_t init, pid_t **host_pids, size_t *n)
{
	struct tree_scan s = { .init = init };
	pid_t *all = NULL, *out = NULL, ns;
	size_t nall, i;
	int found = 0;

	if (proc_ns_pid(init, &ns) < 0)
		return -1;
	if (ns != 1)
		return err_set("pid %d: not the init of its pid namespace (ns pid %d)", init, ns);
	if (proc_pidns_id(init, &s.root.dev, &s.root.ino) < 0)
		return -1;
	if (list_numeric_dir(init, "/proc", SIZE_MAX, &all, &nall) < 0)
		return -1;
	for (i = 0; i < nall; i++)
		if (scan_one(&s, all[i]) < 0)
			goto fail;
	for (i = 0; i < s.nr; i++)
		found |= s.pids[i] == init;
	if (!found) {
		err_set("pid %d: not found in /proc", init);
		goto fail;
	}
	out = malloc(s.nr * sizeof(*out));
	if (!out) {
		err_set("pid %d: out of memory", init);
		goto fail;
	}
	if (scan_order(&s, out) < 0)
		goto fail;
	*host_pids = out;
	*n = s.nr;
	free(all);
	free(s.seen);
	free(s.pids);
	free(s.ppids);
	return 0;
fail:
	free(out);
	free(all);
	free(s.seen);
	free(s.pids);
	free(s.ppids);
	return -1;
}

/*
 * cgtree.c - the cgroups a boxed app made under its box's delegated v2
 * cgroup: saved beside its image at dump (BOX_IMAGE_CGROUPS), made again
 * at restore with their settings, and each process of the tree put back
 * in its own before the tree resumes.
 *
 * The file, one line each, in this order (a walk of the subtree, parents
 * first; REL is a cgroup's path under the box's, "." the box's own):
 *   dir REL                 a cgroup the app made
 *   set REL FILE VALUE      a setting of it (FILE from `settings` below;
 *                           the box's own only its cgroup.subtree_control)
 *   proc NSPID REL          a process of the tree (pid in its namespace)
 *                           in a cgroup other than the box's own
 * A box whose app made nothing there saves no file.  Processes are put
 * back, not threads: a threaded subtree comes back as domain cgroups.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box/box_int.h"
#include "common/err.h"

#define CGT_DEPTH 32
#define CGT_VALUE 256
#define CGT_LINE (BOX_PATH_MAX + 512)

/* What an app may set in its cgroups, in the order they are set again:
 * cgroup.subtree_control apart (written once the processes are in their
 * cgroups: no process may stay in a cgroup that enables controllers). */
static const char *const settings[] = {
	"cgroup.max.depth", "cgroup.max.descendants",
	"memory.min", "memory.low", "memory.high", "memory.max", "memory.swap.max",
	"pids.max", "cpu.weight", "cpu.max", "io.weight",
};
#define NR_SETTINGS (sizeof(settings) / sizeof(settings[0]))
#define SUBTREE "cgroup.subtree_control"

/* ---- dump ---- */

struct walk {
	FILE *out;
	const struct box_pid *pids;
	size_t nr_pids;
	int any;            /* something worth a file */
};

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* "memory pids" as read -> "+memory +pids" as written. */
static void enable_list(const char *read, char *out, size_t len)
{
	char buf[CGT_VALUE], *tok, *save = NULL;
	size_t used = 0;

	snprintf(buf, sizeof(buf), "%s", read);
	out[0] = '\0';
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s+%s",
					 used ? " " : "", tok);
}

static int save_settings(struct walk *w, const char *dir, const char *rel, int root)
{
	char v[CGT_VALUE], en[CGT_VALUE];

	if (cg_read(dir, SUBTREE, v, sizeof(v)) < 0)
		return -1;
	chomp(v);
	if (v[0]) {
		enable_list(v, en, sizeof(en));
		fprintf(w->out, "set %s " SUBTREE " %s\n", rel, en);
		w->any = 1;
	}
	for (size_t i = 0; !root && i < NR_SETTINGS; i++) {
		char path[BOX_PATH_MAX + 64];

		snprintf(path, sizeof(path), "%s/%s", dir, settings[i]);
		if (access(path, F_OK) < 0)
			continue;
		if (cg_read(dir, settings[i], v, sizeof(v)) < 0)
			return -1;
		chomp(v);
		if (v[0] && !strchr(v, '\n'))
			fprintf(w->out, "set %s %s %s\n", rel, settings[i], v);
	}
	return 0;
}

static int save_procs(struct walk *w, const char *dir, const char *rel)
{
	char buf[65536], *p, *end;

	if (cg_read(dir, "cgroup.procs", buf, sizeof(buf)) < 0)
		return -1;
	for (p = buf; *p; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		for (size_t i = 0; i < w->nr_pids; i++)
			if (w->pids[i].host == pid)
				fprintf(w->out, "proc %d %s\n", (int)w->pids[i].ns, rel);
		while (*end == '\n')
			end++;
	}
	return 0;
}

static int walk_dir(struct walk *w, const char *dir, const char *rel, int depth)
{
	struct dirent *e;
	DIR *d;
	int rc = 0;

	if (depth > CGT_DEPTH)
		return err_set("cgroup %s: nested deeper than %d", dir, CGT_DEPTH);
	if (depth) {
		fprintf(w->out, "dir %s\n", rel);
		w->any = 1;
	}
	if (save_settings(w, dir, rel, depth == 0) < 0 || (depth && save_procs(w, dir, rel) < 0))
		return -1;
	d = opendir(dir);
	if (!d)
		return err_sys("open cgroup %s", dir);
	while (rc == 0 && (e = readdir(d))) {
		char sub[BOX_PATH_MAX + 256], subrel[BOX_PATH_MAX + 256];

		if (e->d_type != DT_DIR || e->d_name[0] == '.' || strchr(e->d_name, ' '))
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name) >= BOX_PATH_MAX ||
		    (size_t)snprintf(subrel, sizeof(subrel), "%s/%s", rel, e->d_name) >= BOX_PATH_MAX)
			rc = err_set("cgroup %s/%s: path too long", dir, e->d_name);
		else
			rc = walk_dir(w, sub, depth ? subrel : e->d_name, depth + 1);
	}
	closedir(d);
	return rc;
}

int box_cgroups_save(const struct box *b, const char *imgdir, const struct box_pid *pids,
		     size_t n)
{
	char path[BOX_PATH_MAX + 64], tmp[BOX_PATH_MAX + 80];
	struct walk w = { .pids = pids, .nr_pids = n };
	int rc;

	if (!b->cg.unified[0])
		return 0;
	snprintf(path, sizeof(path), "%s/" BOX_IMAGE_CGROUPS, imgdir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	w.out = fopen(tmp, "we");
	if (!w.out)
		return err_sys("create %s", tmp);
	rc = walk_dir(&w, b->cg.unified, ".", 0);
	if (fclose(w.out) != 0 && rc == 0)
		rc = err_sys("write %s", tmp);
	if (rc == 0 && w.any && rename(tmp, path) < 0)
		rc = err_sys("rename %s", tmp);
	if (rc < 0 || !w.any)
		unlink(tmp);
	return rc < 0 ? err_wrap("box %s: its cgroups", b->cfg.name) : 0;
}

/* ---- restore ---- */

struct line {
	char kind;          /* 'd' dir, 's' set, 'p' proc */
	char rel[BOX_PATH_MAX];
	char file[32];
	char value[CGT_VALUE];
	int pid;
};

/* A cgroup's path under the box's: "." or names without '/', not "." or
 * "..", of printable characters but space, at most CGT_DEPTH deep. */
static int rel_valid(const char *rel)
{
	int depth = 0;

	if (!strcmp(rel, "."))
		return 1;
	for (const char *p = rel; *p;) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && !strncmp(p, "..", 2)) ||
		    ++depth > CGT_DEPTH)
			return 0;
		for (size_t i = 0; i < n; i++)
			if (p[i] <= ' ' || p[i] == 0x7f)
				return 0;
		p += n;
		if (*p == '/' && !*++p)
			return 0;
	}
	return depth > 0;
}

static int setting_known(const char *file, int root)
{
	if (!strcmp(file, SUBTREE))
		return 1;
	for (size_t i = 0; !root && i < NR_SETTINGS; i++)
		if (!strcmp(file, settings[i]))
			return 1;
	return 0;
}

static int value_valid(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < ' ' || *v == 0x7f)
			return 0;
	return 1;
}

/* 1 if one of the lines before (n of them) declares the dir rel. */
static int declared(const struct line *before, size_t n, const char *rel)
{
	for (size_t i = 0; i < n; i++)
		if (before[i].kind == 'd' && !strcmp(before[i].rel, rel))
			return 1;
	return 0;
}

/* One line of the file into l; before: the lines read so far (parents
 * come first), to check that a line names a dir declared there. */
static int parse_line(char *s, struct line *l, const struct line *before, size_t n_before)
{
	char *rest;
	int n = 0;

	memset(l, 0, sizeof(*l));
	if (!strncmp(s, "dir ", 4)) {
		l->kind = 'd';
		if (strlen(s + 4) >= sizeof(l->rel))
			return -1;
		strcpy(l->rel, s + 4);
		rest = strrchr(l->rel, '/');
		if (!strcmp(l->rel, ".") || !rel_valid(l->rel))
			return -1;
		if (!rest)
			return declared(before, n_before, l->rel) ? -1 : 0;
		*rest = '\0';            /* its parent must come before it */
		n = declared(before, n_before, l->rel);
		*rest = '/';
		return n && !declared(before, n_before, l->rel) ? 0 : -1;
	}
	if (!strncmp(s, "set ", 4)) {
		char *file, *sp1 = strchr(s + 4, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;

		if (!sp2 || sp1 - (s + 4) >= (long)sizeof(l->rel) ||
		    sp2 - (sp1 + 1) >= (long)sizeof(l->file) || strlen(sp2 + 1) >= sizeof(l->value))
			return -1;
		l->kind = 's';
		memcpy(l->rel, s + 4, (size_t)(sp1 - (s + 4)));
		file = sp1 + 1;
		memcpy(l->file, file, (size_t)(sp2 - file));
		strcpy(l->value, sp2 + 1);
	} else if (!strncmp(s, "proc ", 5)) {
		l->kind = 'p';
		if (sscanf(s + 5, "%d %n", &l->pid, &n) != 1 || l->pid <= 0 || !n ||
		    strlen(s + 5 + n) >= sizeof(l->rel))
			return -1;
		strcpy(l->rel, s + 5 + n);
	} else {
		return -1;
	}
	if (l->kind == 's' && (!setting_known(l->file, !strcmp(l->rel, ".")) ||
			       !value_valid(l->value)))
		return -1;
	if (!strcmp(l->rel, "."))
		return l->kind == 's' ? 0 : -1;
	return declared(before, n_before, l->rel) ? 0 : -1;
}

struct plan {
	struct line *v;
	size_t n;
};

static int load(const char *path, struct plan *p)
{
	char s[CGT_LINE + 2];
	int lineno = 0, rc = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return errno == ENOENT ? 0 : err_sys("open %s", path);
	while (rc == 0 && fgets(s, sizeof(s), f)) {
		struct line *g;
		char *nl = strchr(s, '\n');

		lineno++;
		if (!nl) {
			rc = err_set("%s:%d: line too long", path, lineno);
			break;
		}
		*nl = '\0';
		g = realloc(p->v, (p->n + 1) * sizeof(*g));
		if (!g) {
			rc = err_set("out of memory");
			break;
		}
		p->v = g;
		if (parse_line(s, &p->v[p->n], p->v, p->n) < 0) {
			rc = err_set("%s:%d: bad line '%.80s'", path, lineno, s);
			break;
		}
		p->n++;
	}
	fclose(f);
	return rc;
}

static void dir_of(const struct box *b, const char *rel, char *out, size_t len)
{
	if (!strcmp(rel, "."))
		snprintf(out, len, "%s", b->cg.unified);
	else
		snprintf(out, len, "%s/%s", b->cg.unified, rel);
}

static pid_t host_of(const struct box_pid *pids, size_t n, int ns)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i].ns == ns)
			return pids[i].host;
	return 0;
}

/* Step 0: make the dirs (given to the box's root) and their settings;
 * 1: move the processes; 2: enable controllers, parents first; 3: the
 * controllers' settings. */
static int apply(const struct box *b, const struct line *l, int step,
		 const struct box_pid *pids, size_t n)
{
	char dir[BOX_PATH_MAX + BOX_PATH_MAX], num[32];
	int subtree = l->kind == 's' && !strcmp(l->file, SUBTREE);
	int core = l->kind == 's' && !strncmp(l->file, "cgroup.", 7);

	dir_of(b, l->rel, dir, sizeof(dir));
	if (step == 0 && l->kind == 'd') {
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return err_sys("mkdir cgroup %s", dir);
		return cg_own(b, dir);
	}
	if (step == 0 && core && !subtree)
		return cg_write(dir, l->file, l->value);
	if (step == 1 && l->kind == 'p') {
		pid_t host = host_of(pids, n, l->pid);

		if (!host)
			return err_set("cgroup %s: pid %d is not one of the tree's", l->rel, l->pid);
		if (host < 0)
			return 0;       /* a zombie: no process to move */
		snprintf(num, sizeof(num), "%d", (int)host);
		return cg_write(dir, "cgroup.procs", num);
	}
	if ((step == 2 && subtree) || (step == 3 && l->kind == 's' && !core))
		return cg_write(dir, l->file, l->value);
	return 0;
}

int box_cgroups_restore(const struct box *b, const char *imgdir, const struct box_pid *pids,
			size_t n)
{
	char path[BOX_PATH_MAX + 64];
	struct plan p = { 0 };
	int rc;

	snprintf(path, sizeof(path), "%s/" BOX_IMAGE_CGROUPS, imgdir);
	rc = load(path, &p);
	if (rc == 0 && p.n && !b->cg.unified[0])
		rc = err_set("the image has cgroups under the box's, and the box has no cgroup v2");
	for (int step = 0; rc == 0 && step < 4; step++)
		for (size_t i = 0; rc == 0 && i < p.n; i++)
			rc = apply(b, &p.v[i], step, pids, n);
	free(p.v);
	return rc < 0 ? err_wrap("box %s: its cgroups", b->cfg.name) : 0;
}

int cgtree_check(const char *file)
{
	struct plan p = { 0 };
	int rc = load(file, &p);

	free(p.v);
	return rc;
}

int box_cgroups_check(const char *imgdir)
{
	char path[BOX_PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/" BOX_IMAGE_CGROUPS, imgdir);
	return cgtree_check(path) < 0 ? err_wrap("box-cgroups") : 0;
}

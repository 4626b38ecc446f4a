/*
 * tmpfiles.c - a box's fresh /run made as a booting system makes it: the
 * `d` and `D` lines of the box root's tmpfiles.d snippets
 * (/usr/lib/tmpfiles.d, /etc/tmpfiles.d) for directories under /run
 * (/run/mysqld for MariaDB, /run/sshd, /run/apache2...), owned as they
 * say (names looked up in the box's /etc/passwd and /etc/group) and with
 * their mode.  The snippets and the user files are the box's: read
 * through openat2(RESOLVE_IN_ROOT) in its root, bounded in size and
 * count; a line that is not understood is skipped (specifiers, ages,
 * other types), and so is an owner the box's range cannot hold.  The
 * directories are made in the tmpfs just mounted, which nothing else has
 * touched yet.  The line parser is fuzzed (fuzz/box_tmpfiles.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <dirent.h>
#include <unistd.h>

#include "box/box_int.h"
#include "common/err.h"

#define FILE_MAX (64 * 1024)   /* of a snippet or a user file read */
#define SNIPPETS_MAX 256
#define DIRS_MAX 512

static int open_in(int rootfd, const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };

	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

/* The box's file path (at most FILE_MAX bytes), NUL-terminated, or NULL. */
static char *read_in(int rootfd, const char *path)
{
	char *buf = malloc(FILE_MAX + 1);
	int fd = open_in(rootfd, path, O_RDONLY | O_NONBLOCK);
	ssize_t n = -1;
	struct stat st;

	if (buf && fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		n = read(fd, buf, FILE_MAX);
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* The next field of *s (spaces and tabs between), or NULL. */
static char *field(char **s)
{
	char *f = *s + strspn(*s, " \t");
	size_t n = strcspn(f, " \t");

	if (!*f)
		return NULL;
	*s = f + n + (f[n] != '\0');
	f[n] = '\0';
	return f;
}

/* A path under /run (or /var/run) with plain components: the part after
 * it, or NULL. */
static const char *under_run(const char *p)
{
	const char *rel = !strncmp(p, "/run/", 5) ? p + 5 : !strncmp(p, "/var/run/", 9) ? p + 9
											: NULL;

	if (!rel || !*rel || strlen(rel) >= BOX_PATH_MAX / 2 || strpbrk(rel, "%*?[\\"))
		return NULL;
	for (const char *c = rel; *c;) {
		size_t n = strcspn(c, "/");

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return NULL;
		c += n;
		if (*c == '/' && !*++c)
			return NULL;
	}
	return rel;
}

int tmpfiles_line(char *line, struct tmpfiles_dir *d)
{
	char *s = line, *type, *path, *mode, *user, *group, *end;
	unsigned long m = 0755;
	const char *rel;

	type = field(&s);
	path = field(&s);
	if (!type || !path || (strcmp(type, "d") && strcmp(type, "D")) || !(rel = under_run(path)))
		return 0;
	mode = field(&s);
	user = field(&s);
	group = field(&s);
	if (mode && strcmp(mode, "-")) {
		errno = 0;
		m = strtoul(mode, &end, 8);
		if (errno || *end || end == mode || m > 07777)
			return 0;
	}
	snprintf(d->rel, sizeof(d->rel), "%s", rel);
	d->mode = (unsigned)m;
	snprintf(d->user, sizeof(d->user), "%s", user && strcmp(user, "-") ? user : "root");
	snprintf(d->group, sizeof(d->group), "%s", group && strcmp(group, "-") ? group : "");
	return strlen(user ? user : "") < sizeof(d->user) &&
	       strlen(group ? group : "") < sizeof(d->group);
}

/* The id of name in a passwd or group file's text (field 3), or a
 * number, root 0 (a root without /etc/passwd); -1 if none. */
static long id_of(const char *text, const char *name)
{
	size_t n = strlen(name);
	char *end;
	long v;

	if (!strcmp(name, "root"))
		return 0;
	errno = 0;
	v = strtol(name, &end, 10);
	if (!errno && *name && !*end && v >= 0)
		return v;
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *c;

		if (strncmp(l, name, n) || l[n] != ':' || !(c = strchr(l + n + 1, ':')))
			continue;
		v = strtol(c + 1, &end, 10);
		return *end == ':' && v >= 0 ? v : -1;
	}
	return -1;
}

struct making {
	const struct box *b;
	int run;                /* the fresh /run */
	char *passwd, *group;
	int made;
};

/* The directory rel under run, parents made (0755, the box root's) when
 * missing, never through a symlink; its owner and mode set. */
static int make_dir(struct making *mk, const struct tmpfiles_dir *d)
{
	char buf[BOX_PATH_MAX], *comp, *save = NULL;
	long uid = id_of(mk->passwd ? mk->passwd : "", d->user);
	long gid = d->group[0] ? id_of(mk->group ? mk->group : "", d->group) : 0;
	int fd = dup(mk->run), rc = 0;

	if (uid < 0 || gid < 0 || uid >= mk->b->cfg.uids || gid >= mk->b->cfg.uids || fd < 0) {
		if (fd >= 0)
			close(fd);
		return 0;              /* an owner the box cannot hold: skipped */
	}
	snprintf(buf, sizeof(buf), "%s", d->rel);
	for (comp = strtok_r(buf, "/", &save); comp && rc == 0; comp = strtok_r(NULL, "/", &save)) {
		int made = mkdirat(fd, comp, 0755) == 0, next;

		if (made && fchownat(fd, comp, mk->b->uid_base, mk->b->uid_base,
				     AT_SYMLINK_NOFOLLOW) < 0)
			rc = err_sys("/run/%s in box %s", d->rel, mk->b->cfg.name);
		next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		if (fd < 0)
			return rc < 0 ? rc : 0;   /* a file there: skipped */
	}
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd);
	if (rc == 0 && (fchownat(fd, "", mk->b->uid_base + (uint32_t)uid,
				 mk->b->uid_base + (uint32_t)gid, AT_EMPTY_PATH) < 0 ||
			chmod(buf, d->mode) < 0))
		rc = err_sys("/run/%s in box %s: owner and mode", d->rel, mk->b->cfg.name);
	close(fd);
	mk->made++;
	return rc;
}

/* Every usable line of the snippet text. */
static int apply_text(struct making *mk, char *text)
{
	char *save = NULL;

	for (char *l = strtok_r(text, "\n", &save); l && mk->made < DIRS_MAX;
	     l = strtok_r(NULL, "\n", &save)) {
		struct tmpfiles_dir d;

		if (tmpfiles_line(l, &d) == 1 && make_dir(mk, &d) < 0)
			return -1;
	}
	return 0;
}

static int apply_dir(struct making *mk, int rootfd, const char *dir, int *files)
{
	int fd = open_in(rootfd, dir, O_RDONLY | O_DIRECTORY), rc = 0;
	struct dirent *e;
	DIR *d;

	if (fd < 0)
		return 0;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	while (rc == 0 && (e = readdir(d)) && *files < SNIPPETS_MAX) {
		char path[BOX_PATH_MAX], *text;
		size_t n = strlen(e->d_name);

		if (n < 6 || strcmp(e->d_name + n - 5, ".conf"))
			continue;
		(*files)++;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		text = read_in(rootfd, path);
		if (text)
			rc = apply_text(mk, text);
		free(text);
	}
	closedir(d);
	return rc;
}

int tmpfiles_run(const struct box *b, int rootfd, int run)
{
	struct making mk = { .b = b, .run = run };
	int files = 0, rc;

	mk.passwd = read_in(rootfd, "/etc/passwd");
	mk.group = read_in(rootfd, "/etc/group");
	rc = apply_dir(&mk, rootfd, "/usr/lib/tmpfiles.d", &files);
	if (rc == 0)
		rc = apply_dir(&mk, rootfd, "/etc/tmpfiles.d", &files);
	free(mk.passwd);
	free(mk.group);
	return rc;
}

/*
 * unix_name.c - the current name of a unix socket bound to a path.
 *
 * getsockname() gives the name as it was bound: maybe relative to the cwd
 * the process had then, maybe bound before the process chrooted (Postfix
 * binds private/rewrite in its spool and chroots there; Dovecot binds
 * under run/ and chroots into run/empty), maybe renamed since (HAProxy
 * binds admin.sock.N.tmp and renames it to admin.sock) or unlinked.  The
 * socket file is identified by its inode (unix_diag's UNIX_DIAG_VFS), and
 * looked for in the tree's root (a box's: every lookup stays inside it),
 * which is where the restore binds it again:
 *   - candidates for where the name was bound: a relative name under the
 *     process's cwd, then under its root; an absolute name under the
 *     process's root (bound after the chroot), then as it is;
 *   - a candidate that is the socket file: BOUND there;
 *   - else an entry of a candidate's directory that is the socket file:
 *     RENAMED from that candidate to that entry;
 *   - else UNLINKED, bound at the first candidate whose directory exists.
 * A socket moved to another directory counts as unlinked.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "common/err.h"
#include "cr/rootpath.h"
#include "cr/unix_name.h"

#define NR_CAND 2

/* unix_diag gives the kernel's dev_t (major << 20 | minor). */
static int is_socket_file(const struct stat *st, uint64_t vfs_dev, uint64_t vfs_ino)
{
	return S_ISSOCK(st->st_mode) && st->st_ino == vfs_ino &&
	       major(st->st_dev) == (vfs_dev >> 20) && minor(st->st_dev) == (vfs_dev & 0xfffff);
}

/* dir + "/" + name, without doubling the slash of dir "/". */
static int join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, CR_PATH_MAX, "%s%s%s", dir,
			 dir[strlen(dir) - 1] == '/' ? "" : "/", name);

	if (n < 0 || n >= CR_PATH_MAX)
		return err_set("socket name %s under %s: path too long", name, dir);
	return 0;
}

static int candidates(const char *name, const char *cwd, const char *root,
		      char cand[NR_CAND][CR_PATH_MAX], int *n)
{
	int chrooted = strcmp(root, "/") != 0;

	*n = 0;
	if (name[0] != '/') {
		if (join(cand[(*n)++], cwd, name) < 0)
			return -1;
		if (chrooted && join(cand[(*n)++], root, name) < 0)
			return -1;
		return 0;
	}
	if (chrooted && join(cand[(*n)++], root, name + 1) < 0)
		return -1;
	snprintf(cand[(*n)++], CR_PATH_MAX, "%s", name);
	return 0;
}

/* The directory part of path into dir ("/" for a top-level name). */
static void dir_of(const char *path, char *dir)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash && slash != path ? (size_t)(slash - path) : 1;

	memcpy(dir, path, n);
	dir[n] = '\0';
}

/* An entry of dir that is the socket file: 1 and its path in out. */
static int search_dir(int root_fd, const char *dir, uint64_t vfs_dev, uint64_t vfs_ino,
		      char *out, struct stat *st)
{
	DIR *d = rst_opendir(root_fd, dir);
	struct dirent *e;
	int found = 0;

	if (!d)
		return errno == ENOENT || errno == ENOTDIR || errno == EACCES ? 0 :
		       err_sys("opendir %s", dir);
	while (!found && (e = readdir(d))) {
		if (e->d_ino != vfs_ino || join(out, dir, e->d_name) < 0)
			continue;
		found = rst_lstat(root_fd, out, st) == 0 && is_socket_file(st, vfs_dev, vfs_ino);
	}
	closedir(d);
	return found;
}

/* Candidates are shorter than CR_PATH_MAX (join). */
static void copy_path(char *dst, const char *src)
{
	size_t n = strnlen(src, CR_PATH_MAX - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int dir_exists(int root_fd, const char *path)
{
	char dir[CR_PATH_MAX];
	struct stat st;

	dir_of(path, dir);
	return rst_stat(root_fd, dir, &st) == 0 && S_ISDIR(st.st_mode);
}

int unix_name_find(int root_fd, const char *name, const char *cwd, const char *root,
		   uint64_t vfs_dev, uint64_t vfs_ino, struct unix_name *out)
{
	char cand[NR_CAND][CR_PATH_MAX], dir[CR_PATH_MAX];
	int n, rc;

	memset(out, 0, sizeof(*out));
	if (candidates(name, cwd, root, cand, &n) < 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (rst_lstat(root_fd, cand[i], &out->st) == 0 && is_socket_file(&out->st, vfs_dev, vfs_ino)) {
			out->state = CR_UNIX_NAME_BOUND;
			copy_path(out->bound, cand[i]);
			return 0;
		}
	for (int i = 0; i < n; i++) {
		dir_of(cand[i], dir);
		rc = search_dir(root_fd, dir, vfs_dev, vfs_ino, out->now, &out->st);
		if (rc < 0)
			return -1;
		if (rc) {
			out->state = CR_UNIX_NAME_RENAMED;
			copy_path(out->bound, cand[i]);
			return 0;
		}
	}
	for (int i = 0; i < n; i++)
		if (dir_exists(root_fd, cand[i])) {
			out->state = CR_UNIX_NAME_UNLINKED;
			copy_path(out->bound, cand[i]);
			memset(&out->st, 0, sizeof(out->st));
			return 0;
		}
	return err_set("bound to %s, which was unlinked, and the directory it was bound in "
		       "is gone (unsupported)", cand[0]);
}

/*
 * file.c - the file:// backend: objects are files under a root directory.
 *
 * Key "a/b/c" is the file ROOT/a/b/c.  A put writes a temporary file
 * ".tmp-*" in the same directory, fsyncs it, moves it into place (rename,
 * or link() when the put must not replace an existing object, which makes
 * if_absent atomic) and fsyncs the directory.  Names starting with '.' are
 * never keys, so readers and list() never see a half-written object, and a
 * failed put removes its temporary file.
 */
#include "store/backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "store/internal.h"

struct filebe {
	char *root;
	int rootfd;
};

static atomic_uint tmp_counter;

/* A key is relative, has no empty, "." or ".."-led component and no
 * component starting with '.' (reserved for temporary files). */
static int key_check(const char *key)
{
	const char *p = key;

	if (!*key || strlen(key) > 1024)
		return err_set("bad object key '%s'", key);
	while (*p) {
		if (*p == '/' || *p == '.')
			return err_set("bad object key '%s'", key);
		while (*p && *p != '/') {
			if ((unsigned char)*p < 0x20)
				return err_set("bad object key '%s'", key);
			p++;
		}
		if (*p == '/')
			p++;
		if (!*p && p[-1] == '/')
			return err_set("bad object key '%s'", key);
	}
	return 0;
}

static int fsync_dirat(int rootfd, const char *dir)
{
	int fd = openat(rootfd, *dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return err_sys("open directory %s", *dir ? dir : ".");
	if (fsync(fd) < 0) {
		err_sys("fsync directory %s", *dir ? dir : ".");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* mkdir -p of the directory part of key (relative to rootfd). */
static int make_parents(int rootfd, const char *key)
{
	char path[PATH_MAX];
	size_t n = strlen(key);

	if (n >= sizeof(path))
		return err_set("key too long: %s", key);
	memcpy(path, key, n + 1);
	for (char *s = path; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (mkdirat(rootfd, path, 0755) == 0) {
			char *up = strrchr(path, '/');

			if (up) {
				*up = '\0';
				if (fsync_dirat(rootfd, path) < 0)
					return -1;
				*up = '/';
			} else if (fsync_dirat(rootfd, "") < 0) {
				return -1;
			}
		} else if (errno != EEXIST) {
			return err_sys("mkdir %s", path);
		}
		*s = '/';
	}
	return 0;
}

static void split_key(const char *key, char *dir, size_t dirlen, const char **base)
{
	const char *slash = strrchr(key, '/');
	size_t n = slash ? (size_t)(slash - key) : 0;

	if (n >= dirlen)
		n = dirlen - 1;
	memcpy(dir, key, n);
	dir[n] = '\0';
	*base = slash ? slash + 1 : key;
}

/* Write data to a new temporary file beside key; name it in tmp. */
static int write_tmp(struct filebe *f, const char *key, const void *data,
		     size_t len, char *tmp, size_t tmplen)
{
	char dir[PATH_MAX];
	const char *base;
	int fd;

	split_key(key, dir, sizeof(dir), &base);
	snprintf(tmp, tmplen, "%s%s.tmp-%.40s-%d-%u", dir, *dir ? "/" : "", base,
		 (int)getpid(), atomic_fetch_add(&tmp_counter, 1));
	fd = openat(f->rootfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys("create %s/%s", f->root, tmp);
	if (write_full(fd, data, len, -1) < 0 || fsync(fd) < 0) {
		err_sys("write %s/%s (%zu bytes)", f->root, tmp, len);
		close(fd);
		unlinkat(f->rootfd, tmp, 0);
		return -1;
	}
	if (close(fd) < 0) {
		err_sys("close %s/%s", f->root, tmp);
		unlinkat(f->rootfd, tmp, 0);
		return -1;
	}
	return 0;
}

static int file_put(void *be, const char *key, const void *data, size_t len,
		    int if_absent)
{
	struct filebe *f = be;
	char tmp[PATH_MAX + 64], dir[PATH_MAX];
	const char *base;
	int rc = 0;

	if (key_check(key) < 0 || make_parents(f->rootfd, key) < 0)
		return err_wrap("put %s", key);
	if (if_absent && faccessat(f->rootfd, key, F_OK, 0) == 0)
		return 1;
	if (write_tmp(f, key, data, len, tmp, sizeof(tmp)) < 0)
		return err_wrap("put %s", key);
	if (if_absent) {
		if (linkat(f->rootfd, tmp, f->rootfd, key, 0) < 0) {
			if (errno == EEXIST)
				rc = 1;
			else
				rc = err_sys("put %s: link", key);
		}
		unlinkat(f->rootfd, tmp, 0);
	} else if (renameat(f->rootfd, tmp, f->rootfd, key) < 0) {
		rc = err_sys("put %s: rename", key);
		unlinkat(f->rootfd, tmp, 0);
	}
	if (rc != 0)
		return rc;
	split_key(key, dir, sizeof(dir), &base);
	if (fsync_dirat(f->rootfd, dir) < 0)
		return err_wrap("put %s", key);
	return 0;
}

static int read_fd(int fd, const char *what, uint64_t off, uint8_t *dst, size_t len)
{
	while (len > 0) {
		ssize_t r = pread(fd, dst, len, (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return err_sys("read %s", what);
		}
		if (r == 0)
			return err_set("read %s: object shorter than expected", what);
		dst += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
	return 0;
}

/* Open key for reading: fd, or 1 if absent. */
static int open_key(struct filebe *f, const char *key, int *fd)
{
	if (key_check(key) < 0)
		return -1;
	*fd = openat(f->rootfd, key, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return errno == ENOENT ? 1 : err_sys("open %s/%s", f->root, key);
	return 0;
}

static int file_get(void *be, const char *key, struct buf *out)
{
	struct filebe *f = be;
	struct stat st;
	int fd, rc;

	out->len = 0;
	rc = open_key(f, key, &fd);
	if (rc != 0)
		return rc;
	if (fstat(fd, &st) < 0) {
		err_sys("stat %s/%s", f->root, key);
		close(fd);
		return -1;
	}
	rc = buf_reserve(out, (size_t)st.st_size + 1);
	if (rc == 0)
		rc = read_fd(fd, key, 0, out->data, (size_t)st.st_size);
	close(fd);
	if (rc < 0)
		return -1;
	out->len = (size_t)st.st_size;
	return 0;
}

/* One request of get_many. */
static int get_one(struct filebe *f, struct backend_get *r)
{
	int fd, rc;

	if (r->dst == NULL && r->len == 0 && r->off == 0)
		return file_get(f, r->key, &r->out);
	rc = open_key(f, r->key, &fd);
	if (rc != 0)
		return rc;
	if (r->dst == NULL) {
		rc = buf_reserve(&r->out, (size_t)r->len);
		if (rc == 0)
			rc = read_fd(fd, r->key, r->off, r->out.data, (size_t)r->len);
		if (rc == 0)
			r->out.len = (size_t)r->len;
	} else {
		rc = read_fd(fd, r->key, r->off, r->dst, (size_t)r->len);
	}
	close(fd);
	return rc;
}

struct get_many_ctx {
	struct filebe *f;
	struct backend_get *reqs;
};

static int get_many_one(void *arg, size_t i)
{
	struct get_many_ctx *c = arg;

	c->reqs[i].status = get_one(c->f, &c->reqs[i]);
	return 0;
}

static int file_get_many(void *be, struct backend_get *reqs, size_t n)
{
	struct get_many_ctx c = { be, reqs };

	if (pool_run(n, pool_default_threads(), get_many_one, &c) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (reqs[i].status < 0)
			return err_set("get %s: failed", reqs[i].key);
	return 0;
}

static int file_stat(void *be, const char *key, uint64_t *size, int64_t *mtime);

static int file_head(void *be, const char *key, uint64_t *size)
{
	int64_t mtime;

	return file_stat(be, key, size, &mtime);
}

static int file_stat(void *be, const char *key, uint64_t *size, int64_t *mtime)
{
	struct filebe *f = be;
	struct stat st;

	if (key_check(key) < 0)
		return -1;
	if (fstatat(f->rootfd, key, &st, 0) < 0)
		return errno == ENOENT ? 1 : err_sys("stat %s/%s", f->root, key);
	*size = (uint64_t)st.st_size;
	*mtime = (int64_t)st.st_mtim.tv_sec;
	return 0;
}

static int file_touch(void *be, const char *key)
{
	struct filebe *f = be;

	if (key_check(key) < 0)
		return -1;
	if (utimensat(f->rootfd, key, NULL, 0) < 0)
		return errno == ENOENT ? 1 : err_sys("touch %s/%s", f->root, key);
	return 0;
}

struct walk {
	struct filebe *f;
	const char *prefix;
	backend_list_cb cb;
	void *arg;
	int tmp_only;          /* report writers' temporary files, not keys */
};

static int is_tmp_name(const char *name)
{
	return !strncmp(name, ".tmp-", 5);
}

/* List directory rel (a key prefix without trailing '/', "" for root). */
static int walk_dir(struct walk *w, const char *rel)
{
	int fd = openat(w->f->rootfd, *rel ? rel : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 :
			err_sys("open directory %s/%s", w->f->root, rel);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return err_sys("opendir %s/%s", w->f->root, rel);
	}
	while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
		char key[PATH_MAX];
		struct stat st;
		size_t plen = strlen(w->prefix);

		if (e->d_name[0] == '.' && !(w->tmp_only && is_tmp_name(e->d_name)))
			continue;
		snprintf(key, sizeof(key), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		/* Skip entries that cannot lead to a key under prefix. */
		if (strncmp(key, w->prefix, strlen(key) < plen ? strlen(key) : plen))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;     /* removed meanwhile */
			rc = err_sys("stat %s/%s", w->f->root, key);
		} else if (S_ISDIR(st.st_mode)) {
			rc = walk_dir(w, key);
		} else if (S_ISREG(st.st_mode) && !strncmp(key, w->prefix, plen) &&
			   w->tmp_only == is_tmp_name(e->d_name)) {
			rc = w->cb(key, (uint64_t)st.st_size,
				   (int64_t)st.st_mtim.tv_sec, w->arg);
		}
	}
	if (rc == 0 && errno != 0)
		rc = err_sys("readdir %s/%s", w->f->root, rel);
	closedir(d);
	return rc;
}

static int file_list(void *be, const char *prefix, backend_list_cb cb, void *arg)
{
	struct walk w = { be, prefix, cb, arg, 0 };
	char start[PATH_MAX];
	const char *slash = strrchr(prefix, '/');
	size_t n = slash ? (size_t)(slash - prefix) : 0;

	if (n >= sizeof(start))
		return err_set("list prefix too long");
	memcpy(start, prefix, n);
	start[n] = '\0';
	return walk_dir(&w, start);
}

struct tmp_sweep {
	struct filebe *f;
	int64_t cutoff;
	int dry_run;
	backend_list_cb cb;
	void *arg;
};

static int sweep_tmp_cb(const char *path, uint64_t size, int64_t mtime, void *arg)
{
	struct tmp_sweep *t = arg;

	if (mtime >= t->cutoff)
		return 0;              /* a writer may still be at it */
	if (!t->dry_run && unlinkat(t->f->rootfd, path, 0) < 0 && errno != ENOENT)
		return err_sys("delete %s/%s", t->f->root, path);
	return t->cb(path, size, mtime, t->arg);
}

static int file_sweep_tmp(void *be, int64_t cutoff, int dry_run, backend_list_cb cb, void *arg)
{
	struct tmp_sweep t = { be, cutoff, dry_run, cb, arg };
	struct walk w = { be, "", sweep_tmp_cb, &t, 1 };

	return walk_dir(&w, "");
}

static int file_del(void *be, const char *key)
{
	struct filebe *f = be;

	if (key_check(key) < 0)
		return -1;
	if (unlinkat(f->rootfd, key, 0) < 0 && errno != ENOENT)
		return err_sys("delete %s/%s", f->root, key);
	return 0;
}

static void file_close(void *be)
{
	struct filebe *f = be;

	if (!f)
		return;
	close(f->rootfd);
	free(f->root);
	free(f);
}

static const struct backend_ops file_backend_ops = {
	.scheme = "file",
	.put = file_put,
	.get = file_get,
	.get_many = file_get_many,
	.head = file_head,
	.list = file_list,
	.del = file_del,
	.close = file_close,
	.stat = file_stat,
	.touch = file_touch,
	.sweep_tmp = file_sweep_tmp,
};

int backend_file_open(const char *path, struct backend *out)
{
	struct filebe *f;

	if (path[0] != '/')
		return err_set("file store path '%s' is not absolute", path);
	if (mkdir_p(path) < 0)
		return err_wrap("open store %s", path);
	f = calloc(1, sizeof(*f));
	if (!f || !(f->root = strdup(path))) {
		free(f);
		return err_set("out of memory");
	}
	f->rootfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->rootfd < 0) {
		err_sys("open store %s", path);
		free(f->root);
		free(f);
		return -1;
	}
	out->ops = &file_backend_ops;
	out->be = f;
	return 0;
}

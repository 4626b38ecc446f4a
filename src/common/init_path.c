/*
 * init_path.c - finding the build's picocenter-init and installing the
 * content-named copies trees run (see init_path.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "common/err.h"
#include "common/init_path.h"
#include "common/io.h"

#define INIT_NAME "picocenter-init"

/* An executable regular file at path, copied into buf. */
static int usable(const char *path, char *buf, size_t len)
{
	if (access(path, X_OK) < 0 || strlen(path) >= len)
		return 0;
	strcpy(buf, path);
	return 1;
}

int init_host_path(char *buf, size_t len)
{
	const char *env = getenv("PICOCENTER_INIT");
	char exe[PATH_MAX], cand[PATH_MAX + 32], *slash;
	ssize_t n;

	if (env && env[0])
		return usable(env, buf, len) ? 0 : err_sys("PICOCENTER_INIT %s", env);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return err_sys("readlink /proc/self/exe");
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return err_set("/proc/self/exe: %s is not a path", exe);
	*slash = '\0';
	snprintf(cand, sizeof(cand), "%s/" INIT_NAME, exe);
	if (usable(cand, buf, len))
		return 0;
	snprintf(cand, sizeof(cand), "%s/../" INIT_NAME, exe);
	if (usable(cand, buf, len))
		return 0;
	errno = ENOENT;
	return err_sys("%s/%s (`make` builds it next to picocenter)", exe, INIT_NAME);
}

#define INIT_MAX (1 << 20)

/* The file name of a copy of content buf (len bytes). */
static void copy_name(const char *buf, size_t len, char *name, size_t nlen)
{
	snprintf(name, nlen, INIT_NAME "-%016llx", (unsigned long long)XXH64(buf, len, 0));
}

/* boxes_dir/.init/name holding buf, made if missing (mtime 0: the same
 * for every copy of the same content). */
static int put_copy(const char *boxes_dir, const char *name, const char *buf, size_t len,
		    char *dir, size_t dlen)
{
	static const struct timespec epoch[2] = { { 0, 0 }, { 0, 0 } };
	char path[PATH_MAX + 64];

	snprintf(dir, dlen, "%s/.init", boxes_dir);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (dir[0] != '/')
		return err_set("%s: not an absolute path", dir);
	if (mkdir_p(dir) < 0)
		return -1;
	if (access(path, X_OK) == 0)
		return 0;
	return write_file_atomic(path, buf, len, 0755, epoch);
}

int init_install(const char *boxes_dir, char *dir, size_t dlen, char *name, size_t nlen)
{
	char src[PATH_MAX], *buf = NULL;
	ssize_t len;
	int rc;

	if (init_host_path(src, sizeof(src)) < 0)
		return -1;
	len = read_whole(src, INIT_MAX, &buf);
	if (len <= 0) {
		free(buf);
		return len < 0 ? err_sys("read %s", src) : err_set("%s is empty", src);
	}
	copy_name(buf, (size_t)len, name, nlen);
	rc = put_copy(boxes_dir, name, buf, (size_t)len, dir, dlen);
	free(buf);
	return rc;
}

/* The copy's file name if exe (a path as a boxed tree sees it) is one,
 * else NULL. */
static const char *copy_of(const char *exe)
{
	static const char prefix[] = BOX_INIT_DIR "/" INIT_NAME "-";
	size_t n = strlen(prefix);

	if (!exe || strncmp(exe, prefix, n) || strlen(exe + n) != 16 ||
	    strspn(exe + n, "0123456789abcdef") != 16)
		return NULL;
	return exe + strlen(BOX_INIT_DIR "/");
}

int init_copy_save(const char *boxes_dir, const char *exe, const char *file)
{
	const char *name = copy_of(exe);
	char path[PATH_MAX + 64], *buf = NULL;
	ssize_t len;
	int rc;

	if (!name)
		return 0;
	snprintf(path, sizeof(path), "%s/.init/%s", boxes_dir, name);
	len = read_whole(path, INIT_MAX, &buf);
	if (len <= 0) {
		free(buf);
		return len < 0 ? err_sys("read %s", path) : err_set("%s is empty", path);
	}
	rc = write_file_atomic(file, buf, (size_t)len, 0644, NULL);
	free(buf);
	return rc;
}

int init_copy_restore(const char *boxes_dir, const char *exe, const char *file)
{
	const char *name = copy_of(exe);
	char path[PATH_MAX + 64], dir[PATH_MAX], want[64], *buf = NULL;
	ssize_t len;
	int rc;

	if (!name)
		return 0;
	snprintf(path, sizeof(path), "%s/.init/%s", boxes_dir, name);
	if (access(path, X_OK) == 0 || access(file, F_OK) < 0)
		return 0;      /* there already, or an image without it */
	len = read_whole(file, INIT_MAX, &buf);
	if (len <= 0) {
		free(buf);
		return len < 0 ? err_sys("read %s", file) : err_set("%s is empty", file);
	}
	copy_name(buf, (size_t)len, want, sizeof(want));
	if (strcmp(want, name))
		rc = err_set("%s: its content is %s, not %s", file, want, name);
	else
		rc = put_copy(boxes_dir, name, buf, (size_t)len, dir, sizeof(dir));
	free(buf);
	return rc;
}

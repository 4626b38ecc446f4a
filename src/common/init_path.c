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

int init_install(const char *boxes_dir, char *dir, size_t dlen, char *name, size_t nlen)
{
	/* mtime 0: the same for every copy of the same content */
	static const struct timespec epoch[2] = { { 0, 0 }, { 0, 0 } };
	char src[PATH_MAX], path[PATH_MAX + 64], *buf = NULL;
	ssize_t len;
	int rc = 0;

	if (init_host_path(src, sizeof(src)) < 0)
		return -1;
	len = read_whole(src, INIT_MAX, &buf);
	if (len <= 0) {
		free(buf);
		return len < 0 ? err_sys("read %s", src) : err_set("%s is empty", src);
	}
	snprintf(dir, dlen, "%s/.init", boxes_dir);
	snprintf(name, nlen, INIT_NAME "-%016llx", (unsigned long long)XXH64(buf, (size_t)len, 0));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (dir[0] != '/')
		rc = err_set("%s: not an absolute path", dir);
	else if (mkdir_p(dir) < 0)
		rc = -1;
	else if (access(path, X_OK) < 0)
		rc = write_file_atomic(path, buf, (size_t)len, 0755, epoch);
	free(buf);
	return rc;
}

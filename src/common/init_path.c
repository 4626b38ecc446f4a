/*
 * init_path.c - finding the host's picocenter-init (see init_path.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/init_path.h"

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

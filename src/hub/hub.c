/*
 * hub.c - what the hub's parts share (see hub.h): its clock and log, and
 * where its registry is (the database URL it was started with, kept in
 * its state directory).  Running the hub is run.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/event_log.h"
#include "common/io.h"
#include "hub/hub.h"

#define DB_URL_MAX 4096

int64_t hub_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hub_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	event_vlog("hub", fmt, ap);
	va_end(ap);
}

/* ---- the registry's place ---- */

static int read_saved_url(const char *dir, char *url, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/db.url", dir);
	n = read_small(path, url, len);
	if (n < 0)
		return errno == ENOENT ? 0 : err_sys("read %s", path);
	while (n > 0 && (url[n - 1] == '\n' || url[n - 1] == ' '))
		url[--n] = '\0';
	return n > 0;
}

int hub_registry_open(const char *dir, const char *url, struct hub_registry **out)
{
	char saved[DB_URL_MAX], path[PATH_MAX];
	int rc;

	if (!url) {
		rc = read_saved_url(dir, saved, sizeof(saved));
		if (rc < 0)
			return -1;
		url = rc ? saved : NULL;
	}
	snprintf(path, sizeof(path), "%s/registry.db", dir);
	if (!url && access(dir, F_OK) < 0)
		return err_sys("state dir %s", dir);
	return hubreg_open(url, path, out);
}

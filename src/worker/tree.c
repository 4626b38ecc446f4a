/* tree.c - a running app's tree as /proc shows it (see tree.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "worker/traffic.h"
#include "worker/tree.h"

#define TREE_MAX_PROCS 4096

uint64_t tree_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	char state;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (!p || !(p = strrchr(buf, ')')))
		return 0;
	/* ") S ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime cutime cstime prio nice threads itreal start" */
	if (sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   &state, &start) != 2 || state == 'Z' || state == 'X')
		return 0;
	return start;
}

/* The children of every thread of pid, appended to v. */
static void add_children(pid_t pid, pid_t *v, uint32_t *n)
{
	char path[64], buf[4096];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/children", (int)pid, e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fscanf(f, "%4095s", buf) == 1 && *n < TREE_MAX_PROCS)
			v[(*n)++] = (pid_t)atoi(buf);
		fclose(f);
	}
	closedir(d);
}

static uint64_t proc_cpu_ns(pid_t pid)
{
	char path[96];
	unsigned long long run, sum = 0;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/schedstat", (int)pid, e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fscanf(f, "%llu", &run) == 1)
			sum += run;
		fclose(f);
	}
	closedir(d);
	return sum;
}

static uint64_t proc_rss(pid_t pid)
{
	char path[64];
	unsigned long long size, res = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return res * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Mix every socket of pid (its inode and, for TCP, its byte counters) into
 * the digest: a new connection, a closed one or a byte moved changes it. */
static uint64_t proc_sockets(pid_t pid, const struct traffic *t)
{
	char path[96], link[64];
	uint64_t digest = 0;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		unsigned long long ino;
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%.16s", (int)pid, e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (sscanf(link, "socket:[%llu]", &ino) != 1)
			continue;
		digest += (ino * 0x9e3779b97f4a7c15ull) ^ (t ? traffic_bytes(t, ino) : 0);
	}
	closedir(d);
	return digest;
}

int tree_sample(pid_t root, const struct traffic *t, struct tree_sample *s)
{
	pid_t *v = malloc(TREE_MAX_PROCS * sizeof(*v));
	uint32_t n = 0;

	if (!v)
		return err_set("out of memory");
	memset(s, 0, sizeof(*s));
	v[n++] = root;
	for (uint32_t i = 0; i < n; i++) {
		s->cpu_ns += proc_cpu_ns(v[i]);
		s->rss_bytes += proc_rss(v[i]);
		s->traffic += proc_sockets(v[i], t);
		add_children(v[i], v, &n);
	}
	s->nr_procs = n;
	free(v);
	return 0;
}

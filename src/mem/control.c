/*
 * control.c - talking to a tree's page server from another process (a
 * dump, cr_mem_stats): an abstract unix socket named after the tree's root
 * pid, one request byte, the answer until the server closes.  Abstract
 * names live in a network namespace: the socket is made in the tree's (a
 * boxed tree's keeper serves from its box's namespace).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "mem/lazy.h"

#define ANSWER_MAX (256u << 20)
#define ASK_TIMEOUT_S 60         /* the server may be fetching from the store */

void mem_control_name(pid_t tree_pid, char *buf, size_t len, size_t *namelen)
{
	int n = snprintf(buf + 1, len - 1, "picocenter-pageserver-%d", (int)tree_pid);

	buf[0] = '\0';
	*namelen = 1 + (size_t)n;
}

/* A unix socket in the network namespace of tree_pid (this thread's
 * namespace is switched for the socket() call only). */
static int socket_in_netns_of(pid_t tree_pid)
{
	char path[64];
	struct stat mine, theirs;
	int ns, self = -1, fd = -1, saved;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)tree_pid);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0 || fstat(ns, &theirs) < 0 || stat("/proc/thread-self/ns/net", &mine) < 0 ||
	    theirs.st_ino == mine.st_ino) {
		if (ns >= 0)
			close(ns);
		return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	}
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self >= 0 && setns(ns, CLONE_NEWNET) == 0) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		saved = errno;
		if (setns(self, CLONE_NEWNET) < 0) {
			/* stuck in the tree's namespace: fail rather than go on there */
			err_sys("page server of %d: back to our network namespace", tree_pid);
			abort();
		}
		errno = saved;
	}
	if (self >= 0)
		close(self);
	close(ns);
	return fd;
}

static int connect_server(pid_t tree_pid, int *fd)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct timeval tv = { ASK_TIMEOUT_S, 0 };
	size_t nl;

	mem_control_name(tree_pid, a.sun_path, sizeof(a.sun_path), &nl);
	*fd = socket_in_netns_of(tree_pid);
	if (*fd < 0)
		return err_sys("page server of %d: socket", tree_pid);
	setsockopt(*fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(*fd, (struct sockaddr *)&a,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + nl)) == 0)
		return 0;
	close(*fd);
	if (errno == ECONNREFUSED || errno == ENOENT)
		return 1;
	return err_sys("page server of %d: connect", tree_pid);
}

static int read_answer(int fd, pid_t tree_pid, char **out, size_t *outlen)
{
	size_t len = 0, cap = 4096;
	char *b = malloc(cap);

	if (!b)
		return err_set("out of memory");
	for (;;) {
		ssize_t r;

		if (len == cap) {
			char *nb = cap >= ANSWER_MAX ? NULL : realloc(b, cap * 2);

			if (!nb) {
				free(b);
				return err_set("page server of %d: answer too large", tree_pid);
			}
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == ECONNRESET)
			break;   /* a server that ended before answering: no answer */
		if (r < 0) {
			free(b);
			return err_sys("page server of %d: read", tree_pid);
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	*out = b;
	*outlen = len;
	return 0;
}

/* cmd, then arg (may be NULL) in the same message. */
static int ask_with(pid_t tree_pid, char cmd, const char *arg, char **out, size_t *outlen)
{
	char msg[80];
	int fd, rc = connect_server(tree_pid, &fd);
	size_t len = (size_t)snprintf(msg, sizeof(msg), "%c%s", cmd, arg ? arg : "");

	if (rc != 0)
		return rc;
	if (write(fd, msg, len) != (ssize_t)len) {
		rc = err_sys("page server of %d: send", tree_pid);
		close(fd);
		return rc;
	}
	rc = read_answer(fd, tree_pid, out, outlen);
	close(fd);
	if (rc == 0 && *outlen == 0) {
		/* The server ended meanwhile (its tree's memory is all in), or
		 * could not build the answer: as if there were none. */
		free(*out);
		return 1;
	}
	return rc;
}

int mem_control_ask(pid_t tree_pid, char cmd, char **out, size_t *outlen)
{
	return ask_with(tree_pid, cmd, NULL, out, outlen);
}

int mem_set_base(pid_t tree_pid, uint64_t gen, uint64_t size)
{
	char arg[64], *out;
	size_t len;
	int rc;

	snprintf(arg, sizeof(arg), " %llu %llu", (unsigned long long)gen,
		 (unsigned long long)size);
	rc = ask_with(tree_pid, 'G', arg, &out, &len);
	if (rc == 0)
		free(out);
	return rc < 0 ? -1 : 0;
}

/* Write the ActiveSet answer of tree_pid's page server to dir (checked
 * first: a dump never stores what it could not read back). */
static int write_as_file(const char *dir, const char *text, size_t len)
{
	char path[4200], tmp[4300];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, MEM_AS_FILE);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys("create %s", tmp);
	if (write_full(fd, text, len, 0) < 0)
		rc = err_sys("write %s", tmp);
	if (close(fd) < 0 && rc == 0)
		rc = err_sys("close %s", tmp);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = err_sys("rename %s", tmp);
	if (rc < 0)
		unlink(tmp);
	return rc;
}

int mem_save_activeset(pid_t tree_pid, const char *dir)
{
	struct mem_as as;
	size_t len;
	char *text;
	int rc = mem_control_ask(tree_pid, 'R', &text, &len);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (len >= 5 && !memcmp(text, "none\n", 5)) {
		free(text);
		return 0;
	}
	rc = mem_as_parse(text, len, &as);
	if (rc == 0) {
		mem_as_free(&as);
		rc = write_as_file(dir, text, len);
	}
	free(text);
	return rc < 0 ? err_wrap("ActiveSet of tree %d", tree_pid) : 0;
}

/* ---- incremental swap-out ---- */

void mem_keep_free(struct mem_keep *k)
{
	for (size_t i = 0; k->procs && i < k->n; i++)
		free(k->procs[i].runs);
	free(k->procs);
	memset(k, 0, sizeof(*k));
}

const struct mem_keep_proc *mem_keep_find(const struct mem_keep *k, pid_t pid)
{
	for (size_t i = 0; k && i < k->n; i++)
		if (k->procs[i].pid == pid)
			return &k->procs[i];
	return NULL;
}

static int keep_add_proc(struct mem_keep *k, long pid)
{
	struct mem_keep_proc *v;

	if (pid <= 0 || pid > 4194304 || mem_keep_find(k, (pid_t)pid))
		return err_set("bad or repeated pid %ld", pid);
	v = realloc(k->procs, (k->n + 1) * sizeof(*v));
	if (!v)
		return err_set("out of memory");
	k->procs = v;
	v[k->n++] = (struct mem_keep_proc){ .pid = (pid_t)pid };
	return 0;
}

static int keep_add_run(struct mem_keep *k, uint64_t addr, uint64_t n, uint64_t off)
{
	struct mem_keep_proc *p;
	struct mem_keep_run *v;

	if (k->n == 0)
		return err_set("a run before any proc line");
	p = &k->procs[k->n - 1];
	if (addr % 4096 || off % 4096 || n == 0 || n > (1ull << 36) ||
	    off > k->base_size || n * 4096 > k->base_size - off ||
	    (p->n && addr < p->runs[p->n - 1].addr + p->runs[p->n - 1].nr_pages * 4096))
		return err_set("bad run 0x%llx+%llu at %llu", (unsigned long long)addr,
			       (unsigned long long)n, (unsigned long long)off);
	if ((p->n & (p->n - 1)) == 0) {   /* grow at powers of two */
		v = realloc(p->runs, (p->n ? p->n * 2 : 1) * sizeof(*v));
		if (!v)
			return err_set("out of memory");
		p->runs = v;
	}
	p->runs[p->n++] = (struct mem_keep_run){ addr, n, off };
	k->kept_pages += n;
	return 0;
}

static int keep_parse(char *text, struct mem_keep *k)
{
	char *save = NULL, *line;
	int ended = 0, rc = 0, first = 1;

	for (line = strtok_r(text, "\n", &save); rc == 0 && line;
	     line = strtok_r(NULL, "\n", &save), first = 0) {
		unsigned long long a, b, c;
		long pid;
		int used = 0;

		if (ended)
			rc = err_set("lines after the end");
		else if (first)
			rc = sscanf(line, "base %llu %llu%n", &a, &b, &used) == 2 && !line[used]
				     ? (k->base_gen = a, k->base_size = b, 0)
				     : err_set("no base line");
		else if (!strcmp(line, "end"))
			ended = 1;
		else if (sscanf(line, "proc %ld%n", &pid, &used) == 1 && !line[used])
			rc = keep_add_proc(k, pid);
		else if (sscanf(line, "k %llx %llu %llx%n", &a, &b, &c, &used) == 3 && !line[used])
			rc = keep_add_run(k, a, b, c);
		else
			rc = err_set("unknown line '%.40s'", line);
	}
	if (rc == 0 && !ended)
		rc = err_set("truncated (no end line)");
	return rc;
}

int mem_keep_take(pid_t tree_pid, struct mem_keep *k)
{
	size_t len;
	char *text;
	int rc;

	memset(k, 0, sizeof(*k));
	rc = mem_control_ask(tree_pid, 'I', &text, &len);
	if (rc != 0)
		return rc;
	if (len >= 5 && !memcmp(text, "none\n", 5)) {
		free(text);
		return 1;
	}
	text[len - 1] = '\0';
	rc = keep_parse(text, k);
	free(text);
	if (rc < 0) {
		mem_keep_free(k);
		return err_wrap("page server of %d: unchanged pages", tree_pid);
	}
	return 0;
}

int mem_request_fill(pid_t tree_pid)
{
	size_t len;
	char *text;
	int rc = mem_control_ask(tree_pid, 'F', &text, &len);

	if (rc == 0)
		free(text);
	return rc < 0 ? -1 : 0;
}

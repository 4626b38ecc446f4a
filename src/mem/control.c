/*
 * control.c - talking to a tree's page server from another process (a
 * dump, cr_mem_stats): an abstract unix socket named after the tree's root
 * pid, one request byte, the answer until the server closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

static int connect_server(pid_t tree_pid, int *fd)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct timeval tv = { ASK_TIMEOUT_S, 0 };
	size_t nl;

	mem_control_name(tree_pid, a.sun_path, sizeof(a.sun_path), &nl);
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
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

int mem_control_ask(pid_t tree_pid, char cmd, char **out, size_t *outlen)
{
	int fd, rc = connect_server(tree_pid, &fd);

	if (rc != 0)
		return rc;
	if (write(fd, &cmd, 1) != 1) {
		rc = err_sys("page server of %d: send", tree_pid);
		close(fd);
		return rc;
	}
	rc = read_answer(fd, tree_pid, out, outlen);
	close(fd);
	if (rc == 0 && *outlen == 0) {
		free(*out);
		return err_set("page server of %d: empty answer (it failed: see its log)",
			       tree_pid);
	}
	return rc;
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

/*
 * etc.c - the files of /etc a box's network makes: /etc/hosts (localhost,
 * and the box's hostname at its own addresses, IPv4 and IPv6, so an app that looks up its
 * own name, as Apache and Exim do at start, gets an answer at once rather
 * than waiting on DNS), /etc/hostname and /etc/resolv.conf (the host's,
 * without the nameservers on the host's loopback, which the box's network
 * namespace cannot reach).  They are written in the box dir (BOX/etc-*),
 * owned by the box's root; rootfs.c binds them over the root's own files
 * each time the root is mounted, so an image restored on another machine
 * gets that machine's resolvers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box/box_int.h"
#include "common/err.h"

#define ETC_MAX 8192   /* more of the host's resolv.conf is not copied */

/* 1 if the file at path holds text and is owned by the box's root (a
 * woken box's files usually do: rewriting them costs a wake 1-4 ms on
 * ext4, which writes out a file truncated and written again on close). */
static int holds(const struct box *b, const char *path, const char *text)
{
	char buf[ETC_MAX];
	size_t n = strlen(text);
	struct stat st;
	ssize_t got = -1;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == b->uid_base &&
	    st.st_gid == b->uid_base && (size_t)st.st_size == n)
		got = read(fd, buf, sizeof(buf));
	close(fd);
	return got == (ssize_t)n && !memcmp(buf, text, n);
}

/* Write text to BOX/etc-NAME, owned by the box's root, unless it holds
 * that already. */
static int write_box_file(const struct box *b, const char *name, const char *text)
{
	char path[BOX_PATH_MAX + 16];
	size_t n = strlen(text);
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/etc-%s", b->path, name);
	if (holds(b, path, text))
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys("box %s: create %s", b->cfg.name, path);
	if (write(fd, text, n) != (ssize_t)n)
		rc = err_sys("box %s: write %s", b->cfg.name, path);
	else if (fchown(fd, b->uid_base, b->uid_base) < 0)
		rc = err_sys("box %s: chown %s", b->cfg.name, path);
	close(fd);
	return rc;
}

static int is_loopback_nameserver(const char *line)
{
	char addr[64];

	if (sscanf(line, "nameserver %63s", addr) != 1)
		return 0;
	return !strncmp(addr, "127.", 4) || !strcmp(addr, "::1");
}

/* The lines of file (at most ETC_MAX bytes) appended to out, but for the
 * nameservers on loopback; how many nameserver lines were kept. */
static int copy_resolvers(const char *file, char *out, size_t len)
{
	char line[512];
	int kept = 0;
	FILE *f = fopen(file, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f) && strlen(out) + strlen(line) < len) {
		if (is_loopback_nameserver(line))
			continue;
		kept += !strncmp(line, "nameserver", 10);
		strcat(out, line);
	}
	fclose(f);
	return kept;
}

/* The host's resolvers; behind systemd-resolved's stub (127.0.0.53) its
 * upstream servers are in /run/systemd/resolve/resolv.conf. */
static void make_resolv_conf(char *out, size_t len)
{
	out[0] = '\0';
	if (copy_resolvers("/etc/resolv.conf", out, len) == 0) {
		out[0] = '\0';
		copy_resolvers("/run/systemd/resolve/resolv.conf", out, len);
	}
}

int etc_write(const struct box *b)
{
	char text[ETC_MAX], addr[INET_ADDRSTRLEN], addr6[INET6_ADDRSTRLEN];
	struct in_addr a = { .s_addr = b->addr };
	int n;

	if (!inet_ntop(AF_INET, &a, addr, sizeof(addr)))
		return err_sys("box %s: its address", b->cfg.name);
	n = snprintf(text, sizeof(text),
		     "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s\n",
		     addr, b->cfg.name);
	if (box_has_ipv6(b))
		snprintf(text + n, sizeof(text) - (size_t)n, "%s\t%s\n", addr6_text(b->addr6, addr6),
			 b->cfg.name);
	if (write_box_file(b, "hosts", text) < 0)
		return -1;
	snprintf(text, sizeof(text), "%s\n", b->cfg.name);
	if (write_box_file(b, "hostname", text) < 0)
		return -1;
	make_resolv_conf(text, sizeof(text));
	return write_box_file(b, "resolv.conf", text);
}

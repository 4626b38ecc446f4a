/*
 * inotifysk.c - inotify instances, checked after every cycle:
 *   - fd 20 (blocking) watches CHECK_DIR/w1 (IN_CREATE, wd 1), had
 *     CHECK_DIR/w2 (wd 2, removed again: a gap), CHECK_DIR/w3
 *     (IN_CREATE|IN_MOVED_TO, wd 3) and the file CHECK_DIR/f
 *     (IN_CLOSE_WRITE, wd 4);
 *   - fd 21 (O_NONBLOCK) watches CHECK_DIR/w1 too (IN_CREATE|IN_EXCL_UNLINK,
 *     its own wd 1).
 * Each check creates w1/c.N, w3/d.N, something in w2, and writes and closes
 * f: fd 20 must report exactly (wd 1, IN_CREATE, c.N), (wd 3, IN_CREATE,
 * d.N), (wd 4, IN_CLOSE_WRITE) and nothing else (no stray IN_IGNORED), fd
 * 21 exactly (wd 1, IN_CREATE, c.N).
 */
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "check.h"

enum { FD_IN = 20, FD_IN2 };

static char w1[4096], w2[4096], w3[4096], ff[4096];

static void put_fd(int fd, int want)
{
	if (fd < 0 || dup2(fd, want) < 0)
		ck_die("inotify for fd %d", want);
	close(fd);
}

static void add(int fd, const char *path, uint32_t mask, int want)
{
	int wd = inotify_add_watch(fd, path, mask);

	if (wd != want)
		ck_die("watch %s: wd %d, expected %d", path, wd, want);
}

static void setup(void)
{
	char ign[256] __attribute__((aligned(8)));
	int fd;

	snprintf(w1, sizeof(w1), "%s/w1", ck_dir);
	snprintf(w2, sizeof(w2), "%s/w2", ck_dir);
	snprintf(w3, sizeof(w3), "%s/w3", ck_dir);
	snprintf(ff, sizeof(ff), "%s/f", ck_dir);
	if (mkdir(w1, 0755) < 0 || mkdir(w2, 0755) < 0 || mkdir(w3, 0755) < 0)
		ck_die("mkdir");
	fd = open(ff, O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		ck_die("create %s", ff);
	close(fd);
	put_fd(inotify_init(), FD_IN);
	add(FD_IN, w1, IN_CREATE, 1);
	add(FD_IN, w2, IN_DELETE | IN_CREATE, 2);
	if (inotify_rm_watch(FD_IN, 2) < 0 || read(FD_IN, ign, sizeof(ign)) <= 0)
		ck_die("rm watch 2 and read its IN_IGNORED");
	add(FD_IN, w3, IN_CREATE | IN_MOVED_TO, 3);
	add(FD_IN, ff, IN_CLOSE_WRITE, 4);
	put_fd(inotify_init1(IN_NONBLOCK), FD_IN2);
	add(FD_IN2, w1, IN_CREATE | IN_EXCL_UNLINK, 1);
}

struct want {
	int wd;
	uint32_t mask;
	char name[32];
};

/* Read events of fd for up to 1 s and compare with want[0..n). */
static void expect(int fd, const struct want *want, int n, const char *what)
{
	char buf[8192] __attribute__((aligned(8)));
	int got = 0;
	double end = ck_now() + 1;

	while (ck_now() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t len;

		if (poll(&p, 1, got == n ? 100 : 200) != 1) {
			if (got == n)
				break;
			continue;
		}
		len = read(fd, buf, sizeof(buf));
		for (char *q = buf; len > 0 && q < buf + len;) {
			struct inotify_event *e = (void *)q;
			const char *name = e->len ? e->name : "";

			if (got >= n || e->wd != want[got].wd || e->mask != want[got].mask ||
			    strcmp(name, want[got].name)) {
				ck_fail("%s: event %d: wd %d mask 0x%x name \"%s\" unexpected", what,
					got, e->wd, e->mask, name);
				return;
			}
			got++;
			q += sizeof(*e) + e->len;
		}
	}
	CK(got == n, "%s: %d of %d events", what, got, n);
}

static void touch(const char *dir, const char *fmt, int n)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/", dir);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), fmt, n);
	unlink(path);                  /* a re-restore repeats the check */
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		ck_fail("create %s", path);
	else
		close(fd);
}

static void check(int n)
{
	struct want a[3], b[1];
	int fd;

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	a[0].wd = 1;
	a[0].mask = IN_CREATE;
	snprintf(a[0].name, sizeof(a[0].name), "c.%d", n);
	a[1].wd = 3;
	a[1].mask = IN_CREATE;
	snprintf(a[1].name, sizeof(a[1].name), "d.%d", n);
	a[2].wd = 4;
	a[2].mask = IN_CLOSE_WRITE;
	b[0] = a[0];
	touch(w1, "c.%d", n);
	touch(w2, "x.%d", n);
	touch(w3, "d.%d", n);
	fd = open(ff, O_WRONLY | O_APPEND);
	if (fd < 0 || write(fd, "x", 1) != 1)
		ck_fail("write %s", ff);
	if (fd >= 0)
		close(fd);
	expect(FD_IN, a, 3, "fd 20");
	expect(FD_IN2, b, 1, "fd 21");
	CK((fcntl(FD_IN2, F_GETFL) & O_NONBLOCK) && !(fcntl(FD_IN, F_GETFL) & O_NONBLOCK),
	   "O_NONBLOCK flags");
}

int main(int argc, char **argv)
{
	ck_init(argc, argv);
	setup();
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		check(n);
		ck_report(n);
	}
}

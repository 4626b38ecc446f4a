/*
 * ptys.c - pseudo-terminal pairs, checked after every cycle:
 *   - pair A: master fd 20 (O_NONBLOCK, the window 37x101, 800x600
 *     pixels), slave fd 21 in raw mode with VMIN 3 and VTIME 7, mode 0600,
 *     exclusive (TIOCEXCL); a child leads a session whose controlling
 *     terminal it is (TIOCSCTTY), with a grandchild's process group in the
 *     foreground;
 *   - pair B: master fd 22 only, locked (TIOCSPTLCK), in packet mode.
 * Each check: both pairs keep their index (/dev/pts/N, ptsname), the
 * termios, window, modes, session and foreground group read through the
 * master (TIOCGSID, TIOCGPGRP), and pair A carries new data both ways.
 * After check N, if CHECK_DIR/queue.N exists, 3 bytes are written to
 * master A and left unread in slave A's input (the test's dump must then
 * fail); the next check reads them first.
 * The indexes go to CHECK_DIR/indexes ("A B").  Another index is
 * accepted once CHECK_DIR/anyindex exists (a host devpts, where another
 * program may take one while the tree is down).
 */
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>

#include "check.h"

enum { FD_MA = 20, FD_SA, FD_MB };

static int index_a, index_b, queued;
static pid_t child, grandchild;

static void put_fd(int fd, int want)
{
	if (fd < 0 || dup2(fd, want) < 0)
		ck_die("fd %d", want);
	close(fd);
}

static int pty_index(int fd)
{
	int n = -1;

	if (ioctl(fd, TIOCGPTN, &n) < 0)
		return -1;
	return n;
}

static void set_slave(int fd)
{
	struct termios t;

	if (tcgetattr(fd, &t) < 0)
		ck_die("tcgetattr");
	cfmakeraw(&t);
	t.c_cc[VMIN] = 3;
	t.c_cc[VTIME] = 7;
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		ck_die("tcsetattr");
}

static void setup_a(void)
{
	struct winsize ws = { 37, 101, 800, 600 };
	int m = posix_openpt(O_RDWR | O_NOCTTY), s;

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
		ck_die("pair A master");
	s = open(ptsname(m), O_RDWR | O_NOCTTY);
	if (s < 0)
		ck_die("open %s", ptsname(m));
	put_fd(m, FD_MA);
	put_fd(s, FD_SA);
	index_a = pty_index(FD_MA);
	set_slave(FD_SA);
	if (ioctl(FD_MA, TIOCSWINSZ, &ws) < 0 || fchmod(FD_SA, 0600) < 0 ||
	    ioctl(FD_SA, TIOCEXCL) < 0 || fcntl(FD_MA, F_SETFL, O_NONBLOCK) < 0)
		ck_die("pair A state");
}

static void setup_b(void)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY), one = 1;

	if (m < 0 || grantpt(m) < 0)
		ck_die("pair B master");
	put_fd(m, FD_MB);
	index_b = pty_index(FD_MB);
	if (ioctl(FD_MB, TIOCSPTLCK, &one) < 0 || ioctl(FD_MB, TIOCPKT, &one) < 0)
		ck_die("pair B lock and packet mode");
}

static void save_indexes(void)
{
	char path[4200], line[64];
	int fd, n;

	snprintf(path, sizeof(path), "%s/indexes", ck_dir);
	n = snprintf(line, sizeof(line), "%d %d\n", index_a, index_b);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, line, (size_t)n) != n)
		ck_die("write %s", path);
	close(fd);
}

/* The child leads a session on pair A's slave; the grandchild's group is
 * its foreground group.  Both wait for ever. */
static void setup_session(void)
{
	int ready[2];

	if (pipe(ready) < 0)
		ck_die("pipe");
	child = fork();
	if (child < 0)
		ck_die("fork");
	if (child == 0) {
		signal(SIGTTOU, SIG_IGN);
		if (setsid() < 0 || ioctl(FD_SA, TIOCSCTTY, 0) < 0)
			_exit(1);
		grandchild = fork();
		if (grandchild == 0) {
			setpgid(0, 0);
			for (;;)
				pause();
		}
		if (grandchild < 0 || setpgid(grandchild, grandchild) < 0 ||
		    tcsetpgrp(FD_SA, grandchild) < 0 || write(ready[1], &grandchild, sizeof(grandchild)) < 0)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (read(ready[0], &grandchild, sizeof(grandchild)) != sizeof(grandchild))
		ck_die("the session's child failed");
	close(ready[0]);
}

static void check_index(int fd, int want, const char *what)
{
	char path[64], any[4200];
	int got = pty_index(fd);
	const char *name = ptsname(fd);

	snprintf(path, sizeof(path), "/dev/pts/%d", got);
	CK(name && !strcmp(name, path), "%s: ptsname %s, index %d", what, name ? name : "-", got);
	snprintf(any, sizeof(any), "%s/anyindex", ck_dir);
	CK(got == want || access(any, F_OK) == 0, "%s: index %d, was %d", what, got, want);
}

static void check_a(void)
{
	struct termios t;
	struct winsize ws;
	struct stat st;
	pid_t sid = 0, pgrp = 0;
	int excl = 0;
	char buf[16];

	if (queued) {
		CK(read(FD_SA, buf, sizeof(buf)) == 3 && !memcmp(buf, "qqq", 3),
		   "read the bytes left queued in slave A");
		queued = 0;
	}
	check_index(FD_MA, index_a, "pair A");
	CK(tcgetattr(FD_SA, &t) == 0 && !(t.c_lflag & (ICANON | ECHO)) && !(t.c_oflag & OPOST) &&
	   t.c_cc[VMIN] == 3 && t.c_cc[VTIME] == 7, "pair A termios");
	CK(ioctl(FD_MA, TIOCGWINSZ, &ws) == 0 && ws.ws_row == 37 && ws.ws_col == 101 &&
	   ws.ws_xpixel == 800 && ws.ws_ypixel == 600, "pair A window size");
	CK(fstat(FD_SA, &st) == 0 && (st.st_mode & 07777) == 0600, "pair A slave mode 0%o",
	   st.st_mode & 07777);
	CK(st.st_uid == geteuid(), "pair A slave owner %d", (int)st.st_uid);
	CK(ioctl(FD_SA, TIOCGEXCL, &excl) == 0 && excl, "pair A exclusive mode");
	CK(fcntl(FD_MA, F_GETFL) & O_NONBLOCK, "pair A master O_NONBLOCK");
	CK(fcntl(FD_SA, F_GETFD) == 0 && fcntl(FD_MA, F_GETFD) == 0,
	   "pair A fds close-on-exec (they were not)");
	CK(ioctl(FD_MA, TIOCGSID, &sid) == 0 && sid == child, "pair A session %d, want %d",
	   (int)sid, (int)child);
	CK(ioctl(FD_MA, TIOCGPGRP, &pgrp) == 0 && pgrp == grandchild,
	   "pair A foreground group %d, want %d", (int)pgrp, (int)grandchild);
	/* master -> slave (raw: as written), slave -> master */
	CK(write(FD_MA, "abc", 3) == 3, "write to master A");
	CK(read(FD_SA, buf, sizeof(buf)) == 3 && !memcmp(buf, "abc", 3), "read slave A");
	CK(write(FD_SA, "xyz\n", 4) == 4, "write to slave A");
	{
		struct pollfd p = { FD_MA, POLLIN, 0 };

		CK(poll(&p, 1, 2000) == 1 && read(FD_MA, buf, sizeof(buf)) == 4 &&
		   !memcmp(buf, "xyz\n", 4), "read master A");
	}
}

static void check_b(void)
{
	int locked = 0, packet = 0;

	check_index(FD_MB, index_b, "pair B");
	CK(ioctl(FD_MB, TIOCGPTLCK, &locked) == 0 && locked, "pair B locked");
	CK(ioctl(FD_MB, TIOCGPKT, &packet) == 0 && packet, "pair B packet mode");
}

int main(int argc, char **argv)
{
	ck_init(argc, argv);
	setup_a();
	setup_b();
	save_indexes();
	setup_session();
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		char path[4200];

		check_a();
		check_b();
		ck_report(n);
		snprintf(path, sizeof(path), "%s/queue.%d", ck_dir, n);
		if (access(path, F_OK) == 0)
			queued = write(FD_MA, "qqq", 3) == 3;
	}
}

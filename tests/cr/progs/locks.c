/*
 * locks.c - file locks stay held: a flock, POSIX record locks (a write lock
 * on a byte range, a read lock to the end of the file) and an open file
 * description (OFD) lock, each on its own file in CHECK_DIR, plus a flock
 * on a description the process has two fds of.
 *
 * At every check a child (another process, with descriptions of its own)
 * tries each conflicting lock without waiting and must be refused, and
 * finds the bytes outside the ranges free; then the process drops and
 * takes its POSIX write lock again, which must still work.
 */
#include <sys/file.h>
#include <sys/wait.h>

#include "check.h"

static int fa, fb, fc, fd1, fd2;
static char pa[512], pb[512], pc[512], pd[512];

static int open_file(char *path, size_t len, const char *name)
{
	int fd;

	snprintf(path, len, "%s/%s", ck_dir, name);
	fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0 || ftruncate(fd, 4096) < 0)
		ck_die("open %s", path);
	return fd;
}

static int posix(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	return fcntl(fd, cmd, &fl);
}

/* In the child: 0 if every lock of the parent is seen, else which not. */
static int probe(void)
{
	int a = open(pa, O_RDWR), b = open(pb, O_RDWR), c = open(pc, O_RDWR), d = open(pd, O_RDWR);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 12, .l_len = 1 };

	if (a < 0 || b < 0 || c < 0 || d < 0)
		return 10;
	if (flock(a, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK)
		return 1;      /* the flock (exclusive) is gone */
	if (fcntl(b, F_GETLK, &fl) < 0 || fl.l_type != F_WRLCK || fl.l_start != 10 ||
	    fl.l_len != 10)
		return 2;      /* the write lock on bytes 10-19 */
	if (posix(b, F_SETLK, F_RDLCK, 15, 1) == 0)
		return 3;
	if (posix(b, F_SETLK, F_WRLCK, 50, 10) < 0)
		return 4;      /* bytes 50-59 must be free */
	if (posix(b, F_SETLK, F_RDLCK, 200, 1) < 0 || posix(b, F_SETLK, F_WRLCK, 300, 1) == 0)
		return 5;      /* the read lock from byte 100 to the end */
	if (posix(c, F_OFD_SETLK, F_RDLCK, 0, 0) == 0)
		return 6;      /* the OFD write lock */
	if (flock(d, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
		return 7;      /* the shared flock through two fds */
	if (flock(d, LOCK_SH | LOCK_NB) < 0)
		return 8;      /* ...is shared */
	return 0;
}

int main(int argc, char **argv)
{
	ck_init(argc, argv);
	fa = open_file(pa, sizeof(pa), "lock.a");
	fb = open_file(pb, sizeof(pb), "lock.b");
	fc = open_file(pc, sizeof(pc), "lock.c");
	fd1 = open_file(pd, sizeof(pd), "lock.d");
	fd2 = dup(fd1);
	if (flock(fa, LOCK_EX | LOCK_NB) < 0 || posix(fb, F_SETLK, F_WRLCK, 10, 10) < 0 ||
	    posix(fb, F_SETLK, F_RDLCK, 100, 0) < 0 || posix(fc, F_OFD_SETLK, F_WRLCK, 0, 0) < 0 ||
	    fd2 < 0 || flock(fd2, LOCK_SH | LOCK_NB) < 0)
		ck_die("take the locks");
	ck_ready();
	for (int n = 0;; n++) {
		pid_t pid;
		int st;

		ck_wait_go(n);
		pid = fork();
		if (pid == 0)
			_exit(probe());
		CK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st),
		   "the probing child did not end");
		CK(WEXITSTATUS(st) == 0, "the probing child found lock check %d broken",
		   WEXITSTATUS(st));
		CK(posix(fb, F_SETLK, F_UNLCK, 10, 10) == 0 &&
		   posix(fb, F_SETLK, F_WRLCK, 10, 10) == 0, "drop and take the write lock: %s",
		   strerror(errno));
		ck_report(n);
	}
}

/*
 * fds.c - file descriptors of the kinds carried by file_reg.c and
 * file_pipe.c, checked after every cycle:
 *   - a regular file shared by the root and its child (one description:
 *     both write records at the shared offset, which must interleave
 *     R0 C0 R1 C1 ... with no gap or overwrite), plus a dup of it;
 *   - an unlinked file (content, offset, nlink 0; opened O_NOFOLLOW), a memfd and an
 *     O_TMPFILE file (never named; its flags hold O_DIRECTORY's bit);
 *   - a directory fd, /dev/null, /dev/zero, /dev/urandom, a cloexec fd;
 *   - a pipe whose read end is the root's and write end the child's, with
 *     data in flight at every dump (F_SETPIPE_SZ 128 KiB kept), O_NONBLOCK;
 *   - a FIFO in CHECK_DIR holding data.
 */
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "check.h"

enum { FD_SHARED = 10, FD_DUP, FD_UNLINKED, FD_MEMFD, FD_DIR, FD_NULL, FD_ZERO,
       FD_URANDOM, FD_CLOEXC, FD_PIPE_R, FD_PIPE_W, FD_FIFO, FD_TMPFILE };
#define PIPE_SZ (128 * 1024)
#define UNLINKED_LEN 10000
#define FLAGS(fd) (fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK))

static char shared_path[4096], fifo_path[4096];

static void put_fd(int fd, int want)
{
	if (fd < 0)
		ck_die("open for fd %d", want);
	if (fd != want) {
		if (dup2(fd, want) < 0)
			ck_die("dup2 %d", want);
		close(fd);
	}
}

static void fill_pattern(char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + (i * 7) % 26);
}

static void setup_files(void)
{
	char buf[UNLINKED_LEN], tmp[4200];

	snprintf(shared_path, sizeof(shared_path), "%s/shared.log", ck_dir);
	put_fd(open(shared_path, O_RDWR | O_CREAT | O_TRUNC, 0644), FD_SHARED);
	if (dup2(FD_SHARED, FD_DUP) < 0)
		ck_die("dup");
	snprintf(tmp, sizeof(tmp), "%s/unlinked", ck_dir);
	/* opened as mkstemp opens (O_NOFOLLOW, which its flags keep) */
	put_fd(open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600), FD_UNLINKED);
	fill_pattern(buf, sizeof(buf));
	if (write(FD_UNLINKED, buf, sizeof(buf)) != sizeof(buf) || unlink(tmp) < 0 ||
	    lseek(FD_UNLINKED, 1234, SEEK_SET) != 1234)
		ck_die("unlinked file");
	put_fd(open(ck_dir, O_TMPFILE | O_RDWR, 0600), FD_TMPFILE);
	if (write(FD_TMPFILE, "tmpfile content", 15) != 15)
		ck_die("O_TMPFILE file");
	put_fd(memfd_create("ckmem", 0), FD_MEMFD);
	if (write(FD_MEMFD, "memfd content", 13) != 13)
		ck_die("memfd");
	put_fd(open(ck_dir, O_RDONLY | O_DIRECTORY), FD_DIR);
	put_fd(open("/dev/null", O_WRONLY), FD_NULL);
	put_fd(open("/dev/zero", O_RDONLY), FD_ZERO);
	put_fd(open("/dev/urandom", O_RDONLY), FD_URANDOM);
	put_fd(open("/dev/null", O_RDONLY), FD_CLOEXC);
	if (fcntl(FD_CLOEXC, F_SETFD, FD_CLOEXEC) < 0)
		ck_die("cloexec");
}

static void setup_pipes(void)
{
	int p[2];

	if (pipe(p) < 0)
		ck_die("pipe");
	put_fd(p[0], FD_PIPE_R);
	put_fd(p[1], FD_PIPE_W);
	if (fcntl(FD_PIPE_R, F_SETPIPE_SZ, PIPE_SZ) < 0 ||
	    fcntl(FD_PIPE_R, F_SETFL, O_NONBLOCK) < 0)
		ck_die("pipe size/flags");
	snprintf(fifo_path, sizeof(fifo_path), "%s/fifo", ck_dir);
	if (mkfifo(fifo_path, 0600) < 0)
		ck_die("mkfifo");
	put_fd(open(fifo_path, O_RDWR | O_NONBLOCK), FD_FIFO);
	if (write(FD_FIFO, "fifo-0", 6) != 6)
		ck_die("fifo write");
}

static void write_record(char who, int n)
{
	char rec[16];

	snprintf(rec, sizeof(rec), "%c-%05d\n", who, n);
	CK(write(FD_SHARED, rec, 8) == 8, "%c: write shared: %s", who, strerror(errno));
}

static void child_main(void)
{
	char gen[32];
	int n;

	close(FD_PIPE_R);
	for (n = 0;; n++) {
		ck_wait_go(n);
		while (!ck_exists("consumed", n))
			ck_sleep_us(2000);
		write_record('C', n);
		snprintf(gen, sizeof(gen), "gen-%d", n + 1);
		CK(write(FD_PIPE_W, gen, strlen(gen)) == (ssize_t)strlen(gen),
		   "child: write pipe: %s", strerror(errno));
		CK(FLAGS(FD_PIPE_W) == O_WRONLY, "child: pipe write end flags 0%o",
		   FLAGS(FD_PIPE_W));
		ck_child_report("child", n);
	}
}

static void check_pipe(int n)
{
	char want[32], got[64] = "";
	int avail = -1;
	ssize_t r;

	snprintf(want, sizeof(want), "gen-%d", n);
	CK(fcntl(FD_PIPE_R, F_GETPIPE_SZ) == PIPE_SZ, "pipe size %d",
	   fcntl(FD_PIPE_R, F_GETPIPE_SZ));
	CK(FLAGS(FD_PIPE_R) == (O_RDONLY | O_NONBLOCK), "pipe read flags 0%o",
	   FLAGS(FD_PIPE_R));
	CK(ioctl(FD_PIPE_R, FIONREAD, &avail) == 0 && avail == (int)strlen(want),
	   "pipe holds %d bytes, want %zu", avail, strlen(want));
	r = read(FD_PIPE_R, got, sizeof(got) - 1);
	got[r > 0 ? r : 0] = '\0';
	CK(!strcmp(got, want), "pipe gave '%s', want '%s'", got, want);
	r = read(FD_PIPE_R, got, sizeof(got));
	CK(r < 0 && errno == EAGAIN, "pipe not empty or not non-blocking after read");
}

static void check_fifo(int n)
{
	char want[32], got[64] = "";
	ssize_t r = read(FD_FIFO, got, sizeof(got) - 1);

	snprintf(want, sizeof(want), "fifo-%d", n);
	got[r > 0 ? r : 0] = '\0';
	CK(!strcmp(got, want), "fifo gave '%s', want '%s'", got, want);
	snprintf(want, sizeof(want), "fifo-%d", n + 1);
	CK(write(FD_FIFO, want, strlen(want)) == (ssize_t)strlen(want), "fifo write");
}

static void check_unlinked(void)
{
	char buf[UNLINKED_LEN], want[UNLINKED_LEN], m[32] = "";
	struct stat st;

	fill_pattern(want, sizeof(want));
	CK(fstat(FD_UNLINKED, &st) == 0 && st.st_nlink == 0 && st.st_size == UNLINKED_LEN,
	   "unlinked file: nlink %lu size %lld", (unsigned long)st.st_nlink,
	   (long long)st.st_size);
	CK(lseek(FD_UNLINKED, 0, SEEK_CUR) == 1234, "unlinked offset %lld",
	   (long long)lseek(FD_UNLINKED, 0, SEEK_CUR));
	CK(pread(FD_UNLINKED, buf, sizeof(buf), 0) == sizeof(buf) &&
	   !memcmp(buf, want, sizeof(buf)), "unlinked content differs");
	CK(FLAGS(FD_UNLINKED) == O_RDWR, "unlinked flags 0%o",
	   FLAGS(FD_UNLINKED));
	CK(pread(FD_MEMFD, m, 13, 0) == 13 && !memcmp(m, "memfd content", 13),
	   "memfd content '%s'", m);
	CK(pread(FD_TMPFILE, m, 15, 0) == 15 && !memcmp(m, "tmpfile content", 15) &&
	   fstat(FD_TMPFILE, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 0,
	   "O_TMPFILE file: content '%.15s', nlink %lu", m, (unsigned long)st.st_nlink);
}

static void check_misc(void)
{
	struct stat a, b;
	char z[16], r[16];

	CK(fstat(FD_DIR, &a) == 0 && stat(ck_dir, &b) == 0 && S_ISDIR(a.st_mode) &&
	   a.st_ino == b.st_ino, "directory fd is not CHECK_DIR");
	CK(write(FD_NULL, "x", 1) == 1 && (fcntl(FD_NULL, F_GETFL) & O_ACCMODE) == O_WRONLY,
	   "/dev/null");
	memset(z, 1, sizeof(z));
	CK(read(FD_ZERO, z, sizeof(z)) == sizeof(z) && !z[0] && !z[15], "/dev/zero");
	CK(read(FD_URANDOM, r, sizeof(r)) == sizeof(r), "/dev/urandom");
	CK(fcntl(FD_CLOEXC, F_GETFD) == FD_CLOEXEC && fcntl(FD_SHARED, F_GETFD) == 0,
	   "cloexec flags %d %d", fcntl(FD_CLOEXC, F_GETFD), fcntl(FD_SHARED, F_GETFD));
	CK(fstat(FD_NULL, &a) == 0 && S_ISCHR(a.st_mode), "fd %d not a device", FD_NULL);
}

/* The shared log holds R0 C0 ... R(n) C(n); both fds at its end. */
static void check_shared(int n)
{
	char want[16], got[16];
	off_t end = (off_t)16 * (n + 1);

	for (int k = 0; k <= n; k++) {
		for (int w = 0; w < 2; w++) {
			snprintf(want, sizeof(want), "%c-%05d\n", w ? 'C' : 'R', k);
			memset(got, 0, sizeof(got));
			CK(pread(FD_SHARED, got, 8, (off_t)16 * k + 8 * w) == 8 &&
			   !memcmp(got, want, 8), "shared log record %d/%d: '%.8s'", k, w, got);
		}
	}
	CK(lseek(FD_SHARED, 0, SEEK_CUR) == end && lseek(FD_DUP, 0, SEEK_CUR) == end,
	   "shared offset %lld/%lld, want %lld", (long long)lseek(FD_SHARED, 0, SEEK_CUR),
	   (long long)lseek(FD_DUP, 0, SEEK_CUR), (long long)end);
}

int main(int argc, char **argv)
{
	pid_t child;

	ck_init(argc, argv);
	setup_files();
	setup_pipes();
	if (write(FD_PIPE_W, "gen-0", 5) != 5)
		ck_die("pipe write");
	child = fork();
	if (child < 0)
		ck_die("fork");
	if (child == 0)
		child_main();
	close(FD_PIPE_W);
	ck_ready();
	for (int n = 0;; n++) {
		char path[4200];

		ck_wait_go(n);
		check_pipe(n);
		check_fifo(n);
		check_unlinked();
		check_misc();
		write_record('R', n);
		snprintf(path, sizeof(path), "%s/consumed.%d", ck_dir, n);
		close(open(path, O_WRONLY | O_CREAT, 0644));
		ck_collect("child", n, 10);
		check_shared(n);
		ck_report(n);
	}
}

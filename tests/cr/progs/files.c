/*
 * files.c - regular-file descriptors survive checkpoint/restore.
 *
 * - fd 42: a 64 KB file O_RDONLY|O_NONBLOCK, offset 12345 (advanced by 100
 *   at every check, the bytes read must be the file's bytes there); fd 43 a
 *   dup of it (one open file description: a read on 42 moves 43)
 * - fd 44: O_RDWR|O_DSYNC|O_CLOEXEC, a write at its offset reads back
 * - fd 45: O_WRONLY|O_APPEND: a record written after the cycle lands at the
 *   end of the file and the offset follows
 * - fd 46: /dev/null O_RDWR (write swallows, read gives EOF); fd 0 /dev/null
 * - fd 47 was closed before the cycle: must stay closed (EBADF)
 * Flags (F_GETFL access mode and status flags) and FD_CLOEXEC are compared,
 * and each fd must still name the same inode.
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "check.h"

#define FSIZE 65536
#define FL_MASK (O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_NOATIME)

struct want { int fd, fl, cloexec; dev_t dev; ino_t ino; };
static struct want wants[5];
static off_t rd_off = 12345, rw_off = 777;
static char path_ro[4096], path_rw[4096], path_ap[4096];

static uint8_t byte_at(off_t o) { return (uint8_t)(o * 131 + (o >> 8)); }

static void place(const char *path, int flags, int fd, int i)
{
	struct stat st;
	int t = open(path, flags, 0644);

	if (t < 0 || dup3(t, fd, flags & O_CLOEXEC) < 0)
		ck_die("open %s", path);
	close(t);
	fstat(fd, &st);
	wants[i] = (struct want){ fd, fcntl(fd, F_GETFL) & FL_MASK, !!(flags & O_CLOEXEC),
				  st.st_dev, st.st_ino };
}

static void check_fds(void)
{
	for (int i = 0; i < 5; i++) {
		struct want *w = &wants[i];
		struct stat st;
		int fl = fcntl(w->fd, F_GETFL), fdfl = fcntl(w->fd, F_GETFD);

		if (fl < 0 || fstat(w->fd, &st) < 0) {
			ck_fail("fd %d: %s", w->fd, strerror(errno));
			continue;
		}
		CK((fl & FL_MASK) == w->fl, "fd %d: flags 0%o, want 0%o", w->fd, fl & FL_MASK, w->fl);
		CK(!!(fdfl & FD_CLOEXEC) == w->cloexec, "fd %d: cloexec %d, want %d", w->fd,
		   !!(fdfl & FD_CLOEXEC), w->cloexec);
		CK(st.st_dev == w->dev && st.st_ino == w->ino, "fd %d: another file", w->fd);
	}
}

static void check_all(int n)
{
	uint8_t buf[100];
	struct stat st, st0;
	off_t size;
	char rec[64];
	int len;

	check_fds();
	/* Offsets: 42 and 43 share one. */
	CK(lseek(42, 0, SEEK_CUR) == rd_off, "fd 42: offset %lld, want %lld",
	   (long long)lseek(42, 0, SEEK_CUR), (long long)rd_off);
	CK(lseek(43, 0, SEEK_CUR) == rd_off, "fd 43 (dup of 42): offset %lld, want %lld",
	   (long long)lseek(43, 0, SEEK_CUR), (long long)rd_off);
	CK(read(42, buf, 100) == 100, "fd 42: read");
	for (int i = 0; i < 100; i++)
		if (buf[i] != byte_at(rd_off + i)) {
			ck_fail("fd 42: wrong data at offset %lld", (long long)(rd_off + i));
			break;
		}
	rd_off += 100;
	CK(lseek(43, 0, SEEK_CUR) == rd_off, "fd 43 does not share 42's offset after restore");
	/* Read-write at its offset. */
	CK(lseek(44, 0, SEEK_CUR) == rw_off, "fd 44: offset %lld, want %lld",
	   (long long)lseek(44, 0, SEEK_CUR), (long long)rw_off);
	memset(buf, n + 1, 10);
	CK(write(44, buf, 10) == 10 && pread(44, buf + 10, 10, rw_off) == 10 &&
	   !memcmp(buf, buf + 10, 10), "fd 44: write/read back");
	rw_off += 10;
	/* Append. */
	fstat(45, &st0);
	size = st0.st_size;
	len = snprintf(rec, sizeof(rec), "record %d\n", n);
	CK(write(45, rec, (size_t)len) == len, "fd 45: append write");
	fstat(45, &st);
	CK(st.st_size == size + len, "O_APPEND file: size %lld, want %lld", (long long)st.st_size,
	   (long long)(size + len));
	CK(lseek(45, 0, SEEK_CUR) == st.st_size, "O_APPEND: offset %lld not at end %lld",
	   (long long)lseek(45, 0, SEEK_CUR), (long long)st.st_size);
	/* /dev/null. */
	for (int fd = 0; fd <= 46; fd += 46) {
		CK(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3),
		   "fd %d is not /dev/null", fd);
	}
	CK(write(46, "x", 1) == 1 && read(46, buf, 1) == 0, "fd 46: /dev/null semantics");
	CK(fcntl(47, F_GETFD) < 0 && errno == EBADF, "fd 47 was closed but is open now");
	CK(fstat(1, &st) == 0 && S_ISREG(st.st_mode) && (fcntl(1, F_GETFL) & O_APPEND),
	   "stdout is not the O_APPEND log file");
}

int main(int argc, char **argv)
{
	uint8_t buf[FSIZE];
	int fd;

	ck_init(argc, argv);
	snprintf(path_ro, sizeof(path_ro), "%s/file-ro", ck_dir);
	snprintf(path_rw, sizeof(path_rw), "%s/file-rw", ck_dir);
	snprintf(path_ap, sizeof(path_ap), "%s/file-append", ck_dir);
	for (int i = 0; i < FSIZE; i++)
		buf[i] = byte_at(i);
	fd = open(path_ro, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, FSIZE) != FSIZE)
		ck_die("write %s", path_ro);
	close(fd);
	fd = open(path_rw, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, 4096) != 4096)
		ck_die("write %s", path_rw);
	close(fd);
	place(path_ro, O_RDONLY | O_NONBLOCK, 42, 0);
	if (dup2(42, 43) < 0)
		ck_die("dup2");
	wants[1] = wants[0];
	wants[1].fd = 43;
	place(path_rw, O_RDWR | O_DSYNC | O_CLOEXEC, 44, 2);
	place(path_ap, O_WRONLY | O_APPEND | O_CREAT, 45, 3);
	place("/dev/null", O_RDWR, 46, 4);
	if (dup2(46, 47) < 0 || close(47) < 0)
		ck_die("fd 47");
	lseek(42, rd_off, SEEK_SET);
	lseek(44, rw_off, SEEK_SET);
	if (write(45, "header\n", 7) != 7)
		ck_die("append");
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		check_all(n);
		ck_report(n);
	}
}

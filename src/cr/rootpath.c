/* rootpath.c - resolve an image's paths in the tree's root (see rootpath.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/child_report.h"
#include "common/err.h"
#include "common/io.h"
#include "cr/rootpath.h"

int rst_open(int root_fd, const char *path, int flags, mode_t mode)
{
	struct open_how how = { 0 };

	if (root_fd < 0)
		return open(path, flags, mode);
	how.flags = (unsigned long long)flags;
	how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
}

static int stat_flags(int root_fd, const char *path, struct stat *st, int nofollow)
{
	int fd, rc;

	fd = rst_open(root_fd, path, O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0), 0);
	if (fd < 0)
		return -1;
	rc = fstat(fd, st);
	close(fd);
	return rc;
}

int rst_stat(int root_fd, const char *path, struct stat *st)
{
	return root_fd < 0 ? stat(path, st) : stat_flags(root_fd, path, st, 0);
}

int rst_lstat(int root_fd, const char *path, struct stat *st)
{
	return root_fd < 0 ? lstat(path, st) : stat_flags(root_fd, path, st, 1);
}

DIR *rst_opendir(int root_fd, const char *path)
{
	int fd;
	DIR *d;

	if (root_fd < 0)
		return opendir(path);
	fd = rst_open(root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return d;
}

int rst_unlink(int root_fd, const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	int dfd, rc;

	if (root_fd < 0 || !slash || (size_t)(slash - path) >= sizeof(dir))
		return root_fd < 0 ? unlink(path) : (errno = EINVAL, -1);
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	dfd = rst_open(root_fd, dir[0] ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (dfd < 0)
		return -1;
	rc = unlinkat(dfd, slash + 1, 0);
	close(dfd);
	return rc;
}

/* In the child: chroot to root_fd, run fn, send its message on failure. */
_Noreturn static void child_in_root(int root_fd, int (*fn)(void *), void *arg, int msg_fd)
{
	int rc;

	err_clear();
	if (fchdir(root_fd) < 0 || chroot(".") < 0 || chdir("/") < 0)
		rc = err_sys("enter the box's root");
	else
		rc = fn(arg);
	if (rc < 0)
		write_full(msg_fd, err_msg(), strlen(err_msg()), -1);
	_exit(rc < 0 ? 1 : 0);
}

int rst_in_root(int root_fd, int (*fn)(void *arg), void *arg)
{
	char msg[ERR_MSG_MAX];
	struct child_report r;
	size_t got;
	int status;
	pid_t pid;

	if (root_fd < 0)
		return fn(arg);
	pid = child_report_fork(&r, "a child in the box's root");
	if (pid < 0)
		return -1;
	if (pid == 0)
		child_in_root(root_fd, fn, arg, r.wr);
	got = child_report_read(&r, msg, sizeof(msg) - 1);
	msg[got] = '\0';
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return err_sys("wait for the child in the box's root");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (got)
		return err_set("%s", msg);
	return err_set("the child in the box's root failed (status 0x%x)", status);
}

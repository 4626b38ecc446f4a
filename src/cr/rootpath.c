/* rootpath.c - open an image's paths in the tree's root (see rootpath.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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

int rst_stat(int root_fd, const char *path, struct stat *st)
{
	int fd, rc;

	if (root_fd < 0)
		return stat(path, st);
	fd = rst_open(root_fd, path, O_PATH | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	rc = fstat(fd, st);
	close(fd);
	return rc;
}

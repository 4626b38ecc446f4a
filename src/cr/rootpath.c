/* rootpath.c - open an image's paths in the tree's root (see rootpath.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cr/rootpath.h"

static int root_fd = -1;

void rst_root_set(int dirfd)
{
	root_fd = dirfd;
}

int rst_root_boxed(void)
{
	return root_fd >= 0;
}

int rst_open(const char *path, int flags, mode_t mode)
{
	struct open_how how = { 0 };

	if (root_fd < 0)
		return open(path, flags, mode);
	how.flags = (unsigned long long)flags;
	how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
}

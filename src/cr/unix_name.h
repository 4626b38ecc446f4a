/*
 * unix_name.h - where the path name of a bound unix socket is now: under
 * the name it was bound to, renamed, or unlinked (see unix_name.c).
 */
#ifndef PC_CR_UNIX_NAME_H
#define PC_CR_UNIX_NAME_H

#include <stdint.h>
#include <sys/stat.h>

#include "cr/image.h"

struct unix_name {
	uint32_t state;                /* CR_UNIX_NAME_* */
	char bound[CR_PATH_MAX];       /* the name it was bound to, absolute */
	char now[CR_PATH_MAX];         /* RENAMED: its current name */
	struct stat st;                /* BOUND, RENAMED: the socket file */
};

/* Find the socket file whose inode is (vfs_dev, vfs_ino) (as unix_diag
 * gives them) for a socket bound to name (getsockname: absolute or
 * relative), in a process whose cwd and root are the given paths, all
 * resolved in root_fd (the box's root; -1: the dumper's).  Fails when no
 * directory the name can have been bound in exists. */
int unix_name_find(int root_fd, const char *name, const char *cwd, const char *root,
		   uint64_t vfs_dev, uint64_t vfs_ino, struct unix_name *out);

#endif

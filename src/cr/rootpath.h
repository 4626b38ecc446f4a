/*
 * rootpath.h - the root a restore resolves an image's paths in: the host's,
 * or a box's (openat2 with RESOLVE_IN_ROOT), so that no path, symlink or
 * ".." an image names can lead the restorer to a file outside the box.
 */
#ifndef PC_CR_ROOTPATH_H
#define PC_CR_ROOTPATH_H

#include <sys/types.h>

/* Resolve in the directory dirfd from now on (-1: the host's root). */
void rst_root_set(int dirfd);
/* 1 if paths resolve in a box's root. */
int rst_root_boxed(void);
/* open(path, flags, mode) in the current root. */
int rst_open(const char *path, int flags, mode_t mode);

#endif

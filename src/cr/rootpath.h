/*
 * rootpath.h - the root a restore resolves an image's paths in: the host's,
 * or a box's (openat2 with RESOLVE_IN_ROOT), so that no path, symlink or
 * ".." an image names can lead the restorer to a file outside the box.
 */
#ifndef PC_CR_ROOTPATH_H
#define PC_CR_ROOTPATH_H

#include <sys/types.h>

/* open(path, flags, mode) resolved in the directory root_fd (a box's
 * root; -1: the host's root).  A restore's root is its context's
 * (rst_ctx.box_root, files_root). */
int rst_open(int root_fd, const char *path, int flags, mode_t mode);
/* stat(path) resolved in root_fd, as rst_open. */
struct stat;
int rst_stat(int root_fd, const char *path, struct stat *st);

#endif

/*
 * rootpath.h - the root an image's paths resolve in: the host's, or a
 * box's (openat2 with RESOLVE_IN_ROOT, or a child process chrooted there),
 * so that no path, symlink or ".." an image or a boxed app names can lead
 * the dumper or the restorer to a file outside the box.
 */
#ifndef PC_CR_ROOTPATH_H
#define PC_CR_ROOTPATH_H

#include <dirent.h>
#include <sys/types.h>

/* open(path, flags, mode) resolved in the directory root_fd (a box's
 * root; -1: the host's root).  A restore's root is its context's
 * (rst_ctx.box_root, files_root). */
int rst_open(int root_fd, const char *path, int flags, mode_t mode);
/* stat(path) and lstat(path) resolved in root_fd, as rst_open. */
struct stat;
int rst_stat(int root_fd, const char *path, struct stat *st);
int rst_lstat(int root_fd, const char *path, struct stat *st);
/* opendir(path) resolved in root_fd. */
DIR *rst_opendir(int root_fd, const char *path);
/* unlink(path) resolved in root_fd (its directory is). */
int rst_unlink(int root_fd, const char *path);
/* Run fn(arg) where every path resolves in root_fd: for calls that take a
 * path but no directory fd and keep the name (bind, connect of a unix
 * socket).  root_fd -1: fn runs here.  Otherwise in a child process
 * chrooted to root_fd, which shares nothing with the caller but copies of
 * its open files (a socket bound there is bound here) and its memory as
 * it was (what fn writes stays in the child); fn's error message comes
 * back.  Returns fn's result (0 or -1). */
int rst_in_root(int root_fd, int (*fn)(void *arg), void *arg);

#endif

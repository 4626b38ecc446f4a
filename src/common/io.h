/* io.h - whole-buffer writes that retry on EINTR and short counts; mkdir -p. */
#ifndef PC_IO_H
#define PC_IO_H

#include <stddef.h>
#include <sys/types.h>

/* Write all len bytes (at off when off >= 0); 0, or -1 with errno set. */
int write_full(int fd, const void *buf, size_t len, off_t off);

/* mkdir -p: create path and its missing parents (mode 0755); errors
 * name the directory that could not be made. */
int mkdir_p(const char *path);

#endif

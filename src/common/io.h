/* io.h - whole-buffer reads and writes that retry on EINTR and short counts. */
#ifndef PC_IO_H
#define PC_IO_H

#include <stddef.h>
#include <sys/types.h>

/* Write all len bytes (at off when off >= 0); 0, or -1 with errno set. */
int write_full(int fd, const void *buf, size_t len, off_t off);

#endif

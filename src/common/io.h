/* io.h - whole-buffer writes that retry on EINTR and short counts; a file
 * written whole or not at all; small file reads; a message with an fd
 * attached; mkdir -p. */
#ifndef PC_IO_H
#define PC_IO_H

#include <stddef.h>
#include <sys/types.h>

/* Write all len bytes (at off when off >= 0); 0, or -1 with errno set. */
int write_full(int fd, const void *buf, size_t len, off_t off);

/* The file at path replaced by len bytes of buf, whole or not at all
 * (written to path.PID.tmp, synced, then renamed): mode, and with
 * times, its access and modification times.  0, or -1 (err set). */
struct timespec;
int write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode,
		      const struct timespec *times);

/* Read up to len - 1 bytes of the file at path into buf, NUL-terminated:
 * the count read (0 for an empty file), or -1 with errno set. */
ssize_t read_small(const char *path, char *buf, size_t len);

/* Read the whole file at path (at most max bytes) into a new buffer
 * *out (freed by the caller, one byte more, NUL): its length, or -1 with
 * errno set (EFBIG: larger than max, EIO: it changed while read). */
ssize_t read_whole(const char *path, size_t max, char **out);

/* sendmsg of len bytes of buf with fd attached (SCM_RIGHTS; none when
 * fd < 0) and flags: sendmsg's result, errno set on -1. */
ssize_t send_with_fd(int sock, const void *buf, size_t len, int fd, int flags);

/* mkdir -p: create path and its missing parents (mode 0755); errors
 * name the directory that could not be made. */
int mkdir_p(const char *path);

#endif

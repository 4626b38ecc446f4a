/*
 * sys.h - the little of a C library picocenter-init (init.c) needs, with
 * no library at all: raw Linux system calls
 * on x86-64, string helpers and error names.  Without glibc the init is a
 * few KB and a few private pages per app (docs/serve.md, Init).
 */
#ifndef PC_INIT_SYS_H
#define PC_INIT_SYS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define sys3(n, a, b, c) sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)

static size_t str_len(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static int str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* Append s to buf (of len bytes, at *n), always NUL-terminated. */
static void str_add(char *buf, size_t len, size_t *n, const char *s)
{
	while (*s && *n + 1 < len)
		buf[(*n)++] = *s++;
	buf[*n] = '\0';
}

/* The usual text of the errors exec and the rest can give. */
static const char *err_name(long e)
{
	switch (e) {
	case ENOENT: return "No such file or directory";
	case EACCES: return "Permission denied";
	case ENOEXEC: return "Exec format error";
	case ENOTDIR: return "Not a directory";
	case ELOOP: return "Too many levels of symbolic links";
	case ENAMETOOLONG: return "File name too long";
	case E2BIG: return "Argument list too long";
	case ENOMEM: return "Cannot allocate memory";
	case ETXTBSY: return "Text file busy";
	case EPERM: return "Operation not permitted";
	case EAGAIN: return "Resource temporarily unavailable";
	case EINVAL: return "Invalid argument";
	case EBADF: return "Bad file descriptor";
	case EISDIR: return "Is a directory";
	default: return "Unknown error";
	}
}

#endif

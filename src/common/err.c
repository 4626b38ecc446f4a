/* err.c - thread-local error message with context prefixes (see err.h). */
#include "common/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ERR_MAX ERR_MSG_MAX

static _Thread_local char err_buf[ERR_MAX];
static _Thread_local int err_transient;

static void err_vformat(char *dst, size_t len, const char *fmt, va_list ap)
{
	vsnprintf(dst, len, fmt, ap);
}

/* err_buf = a + ": " + b, cut to fit. */
static void err_join(const char *a, const char *b)
{
	size_t n = strnlen(a, ERR_MAX - 1);

	memcpy(err_buf, a, n);
	err_buf[n] = '\0';
	if (n + 3 < ERR_MAX) {
		memcpy(err_buf + n, ": ", 3);
		n += 2;
		strncat(err_buf + n, b, ERR_MAX - n - 1);
	}
}

int err_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vformat(err_buf, sizeof(err_buf), fmt, ap);
	va_end(ap);
	err_transient = 0;
	return -1;
}

int err_sys(const char *fmt, ...)
{
	int saved = errno;
	size_t n;
	va_list ap;

	err_transient = 0;
	va_start(ap, fmt);
	err_vformat(err_buf, sizeof(err_buf), fmt, ap);
	va_end(ap);
	n = strlen(err_buf);
	snprintf(err_buf + n, sizeof(err_buf) - n, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

int err_wrap(const char *fmt, ...)
{
	char prefix[ERR_MAX], old[ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	err_vformat(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err_buf, sizeof(old));
	err_join(prefix, old);
	return -1;
}

const char *err_msg(void)
{
	return err_buf;
}

void err_clear(void)
{
	err_buf[0] = '\0';
	err_transient = 0;
}

int err_mark_transient(void)
{
	err_transient = 1;
	return -1;
}

int err_is_transient(void)
{
	return err_transient;
}

void err_save(struct err_saved *e)
{
	memcpy(e->msg, err_buf, sizeof(e->msg));
	e->transient = err_transient;
}

int err_restore(const struct err_saved *e)
{
	memcpy(err_buf, e->msg, sizeof(err_buf));
	err_transient = e->transient;
	return -1;
}

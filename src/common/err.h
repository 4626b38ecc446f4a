/*
 * err.h - error values with context.
 *
 * Functions return 0 on success and -1 on failure.  A failing function
 * records what went wrong with err_set()/err_sys(); each caller on the way
 * up may prefix its own context with err_wrap(), so the message read at the
 * top reads like "restore pid 7: mmap 0x7f00 (4 pages): Invalid argument".
 * The message lives in thread-local storage.
 */
#ifndef PC_ERR_H
#define PC_ERR_H

#include <stddef.h>

#define ERR_MSG_MAX 2048

/* Record a new error message; returns -1. */
int err_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, with ": strerror(errno)" appended; returns -1. */
int err_sys(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prefix the current message with "context: "; returns -1. */
int err_wrap(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The current message ("" if none). */
const char *err_msg(void);
/* Forget the current message. */
void err_clear(void);
/* Mark the error just recorded as one that goes away by itself (a TCP
 * connection in the middle of closing): the operation may be tried again.
 * err_set(), err_sys() and err_clear() unmark it; err_wrap() keeps it. */
int err_mark_transient(void);
int err_is_transient(void);

/* The current error, kept aside while cleanup code may record others. */
struct err_saved {
	char msg[ERR_MSG_MAX];
	int transient;
};
void err_save(struct err_saved *e);
/* Make a saved error current again, its transient mark included; -1. */
int err_restore(const struct err_saved *e);

#endif

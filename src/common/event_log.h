/* event_log.h - what the daemons (serve, hub) share around their life:
 * event lines on stderr, "TIME WHO: text", one event per line (newlines
 * in text become spaces), written at once; the lock that keeps one
 * daemon per state directory; SIGINT/SIGTERM as a request to stop. */
#ifndef PC_EVENT_LOG_H
#define PC_EVENT_LOG_H

#include <stdarg.h>

/* who: "app web", "hub", ... */
void event_vlog(const char *who, const char *fmt, va_list ap);

/* flock dir/file (made if missing); fails naming daemon ("picocenter
 * serve") when another holds it.  The fd (close-on-exec) into *fd. */
int state_dir_lock(const char *dir, const char *file, const char *daemon, int *fd);

/* on_stop for SIGINT and SIGTERM; SIGPIPE ignored. */
int stop_signals_install(void (*on_stop)(int));

#endif

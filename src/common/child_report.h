/*
 * child_report.h - a child process that reports to its parent through a
 * pipe: the parent forks (or clones) with a report pipe, the child writes
 * its report to the write end and exits (or execs: both ends are
 * close-on-exec), and the parent reads the report until the child's end
 * closes or the report is whole.
 */
#ifndef PC_CHILD_REPORT_H
#define PC_CHILD_REPORT_H

#include <stddef.h>
#include <sys/types.h>

struct child_report {
	int rd;                        /* the parent's end, -1 once closed */
	int wr;                        /* the child's end, -1 once closed */
};

/* The pipe, both ends close-on-exec; errors read "WHAT: pipe". */
int child_report_open(struct child_report *r, const char *what);
/* The pipe and a fork: 0 in the child (which writes to r->wr, its read end
 * closed), the child's pid in the parent, -1 when either failed ("WHAT:
 * pipe", "WHAT: fork"; nothing is left open). */
pid_t child_report_fork(struct child_report *r, const char *what);
/* In the child of a clone the caller made itself: close the parent's end. */
void child_report_child(struct child_report *r);
/* Close both ends (the child could not be started). */
void child_report_close(struct child_report *r);
/* In the parent: read the report into buf, up to len bytes, until the
 * child's end closes; the count read.  Closes both ends. */
size_t child_report_read(struct child_report *r, void *buf, size_t len);

#endif

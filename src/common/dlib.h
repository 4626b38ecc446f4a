/* dlib.h - a shared library loaded on first use into a table of function
 * pointers (libmicrohttpd, libpq: libraries only some commands need, kept
 * out of every other start of the binary). */
#ifndef PC_DLIB_H
#define PC_DLIB_H

#include <stddef.h>

struct dlib_sym {
	const char *name;      /* the symbol */
	size_t offset;         /* where its pointer goes in the table */
};

/* dlopen soname and fill table with the n symbols; on failure -1 and a
 * message naming what (e.g. "api: cannot load libmicrohttpd: ...") in err. */
int dlib_load(const char *soname, const char *what, const struct dlib_sym *syms, size_t n,
	      void *table, char *err, size_t errlen);

#endif

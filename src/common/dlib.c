/* dlib.c - load a shared library into a table of pointers (see dlib.h). */
#include <dlfcn.h>
#include <stdio.h>

#include "common/dlib.h"

int dlib_load(const char *soname, const char *what, const struct dlib_sym *syms, size_t n,
	      void *table, char *err, size_t errlen)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(err, errlen, "%s: cannot load %s: %s", what, soname, dlerror());
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		void *f = dlsym(h, syms[i].name);

		if (!f) {
			snprintf(err, errlen, "%s: %s lacks %s", what, soname, syms[i].name);
			return -1;
		}
		/* POSIX guarantees data and function pointers convert. */
		*(void **)((char *)table + syms[i].offset) = f;
	}
	return 0;
}

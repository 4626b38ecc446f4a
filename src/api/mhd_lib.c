/* mhd_lib.c - load libmicrohttpd on first use (see mhd_lib.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

#include "api/mhd_lib.h"
#include "common/err.h"

static struct mhd_lib lib;
static int lib_state;          /* 0 not tried, 1 loaded, -1 failed */
static char lib_error[256];
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static const struct {
	const char *name;
	size_t offset;
} syms[] = {
	{ "MHD_start_daemon", offsetof(struct mhd_lib, start_daemon) },
	{ "MHD_stop_daemon", offsetof(struct mhd_lib, stop_daemon) },
	{ "MHD_create_response_from_buffer", offsetof(struct mhd_lib, create_response_from_buffer) },
	{ "MHD_create_response_from_callback",
	  offsetof(struct mhd_lib, create_response_from_callback) },
	{ "MHD_add_response_header", offsetof(struct mhd_lib, add_response_header) },
	{ "MHD_queue_response", offsetof(struct mhd_lib, queue_response) },
	{ "MHD_destroy_response", offsetof(struct mhd_lib, destroy_response) },
	{ "MHD_lookup_connection_value", offsetof(struct mhd_lib, lookup_connection_value) },
};

static void load_mhd(void)
{
	void *h = dlopen("libmicrohttpd.so.12", RTLD_NOW | RTLD_LOCAL);

	lib_state = -1;
	if (!h) {
		snprintf(lib_error, sizeof(lib_error), "api: cannot load libmicrohttpd: %s", dlerror());
		return;
	}
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *f = dlsym(h, syms[i].name);

		if (!f) {
			snprintf(lib_error, sizeof(lib_error), "api: libmicrohttpd lacks %s",
				 syms[i].name);
			return;
		}
		/* POSIX guarantees data and function pointers convert. */
		*(void **)((char *)&lib + syms[i].offset) = f;
	}
	lib_state = 1;
}

const struct mhd_lib *mhd_lib(void)
{
	pthread_once(&lib_once, load_mhd);
	if (lib_state < 0) {
		err_set("%s", lib_error);
		return NULL;
	}
	return &lib;
}

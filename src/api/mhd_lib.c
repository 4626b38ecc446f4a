/* mhd_lib.c - load libmicrohttpd on first use (see mhd_lib.h). */
#include <pthread.h>
#include <stddef.h>

#include "api/mhd_lib.h"
#include "common/dlib.h"
#include "common/err.h"

static struct mhd_lib lib;
static int lib_state;          /* 0 not tried, 1 loaded, -1 failed */
static char lib_error[256];
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static const struct dlib_sym syms[] = {
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
	lib_state = dlib_load("libmicrohttpd.so.12", "api", syms, sizeof(syms) / sizeof(syms[0]), &lib,
			      lib_error, sizeof(lib_error)) < 0 ? -1 : 1;
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

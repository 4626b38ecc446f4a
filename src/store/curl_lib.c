/* curl_lib.c - load libcurl on first use (see curl_lib.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

#include "common/err.h"
#include "store/curl_lib.h"

static struct curl_lib lib;
static int lib_state;          /* 0 not tried, 1 loaded, -1 failed */
static char lib_error[256];
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

struct curl_sym {
	const char *name;
	size_t offset;
};

static const struct curl_sym syms[] = {
	{ "curl_global_init", offsetof(struct curl_lib, global_init) },
	{ "curl_easy_init", offsetof(struct curl_lib, easy_init) },
	{ "curl_easy_cleanup", offsetof(struct curl_lib, easy_cleanup) },
	{ "curl_easy_reset", offsetof(struct curl_lib, easy_reset) },
	{ "curl_easy_setopt", offsetof(struct curl_lib, easy_setopt) },
	{ "curl_easy_getinfo", offsetof(struct curl_lib, easy_getinfo) },
	{ "curl_easy_strerror", offsetof(struct curl_lib, easy_strerror) },
	{ "curl_multi_init", offsetof(struct curl_lib, multi_init) },
	{ "curl_multi_cleanup", offsetof(struct curl_lib, multi_cleanup) },
	{ "curl_multi_add_handle", offsetof(struct curl_lib, multi_add_handle) },
	{ "curl_multi_remove_handle", offsetof(struct curl_lib, multi_remove_handle) },
	{ "curl_multi_info_read", offsetof(struct curl_lib, multi_info_read) },
	{ "curl_multi_perform", offsetof(struct curl_lib, multi_perform) },
	{ "curl_multi_poll", offsetof(struct curl_lib, multi_poll) },
	{ "curl_multi_setopt", offsetof(struct curl_lib, multi_setopt) },
	{ "curl_slist_append", offsetof(struct curl_lib, slist_append) },
	{ "curl_slist_free_all", offsetof(struct curl_lib, slist_free_all) },
};

static void load_curl(void)
{
	/* Lazy binding: the symbols used are looked up below, and binding all
	 * of libcurl's and its dependencies' at once costs a few ms of every
	 * process's first request. */
	void *h = dlopen("libcurl.so.4", RTLD_LAZY | RTLD_LOCAL);

	lib_state = -1;
	if (!h) {
		snprintf(lib_error, sizeof(lib_error), "s3: cannot load libcurl: %s", dlerror());
		return;
	}
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *f = dlsym(h, syms[i].name);

		if (!f) {
			snprintf(lib_error, sizeof(lib_error), "s3: libcurl lacks %s", syms[i].name);
			return;
		}
		/* POSIX guarantees data and function pointers convert. */
		*(void **)((char *)&lib + syms[i].offset) = f;
	}
	lib_state = 1;
}

const struct curl_lib *curl_lib(void)
{
	pthread_once(&lib_once, load_curl);
	if (lib_state < 0) {
		err_set("%s", lib_error);
		return NULL;
	}
	return &lib;
}

/*
 * curl_lib.h - libcurl, loaded when the S3 backend is first used.
 *
 * libcurl brings some thirty shared libraries with it; linking it into the
 * binary would make every `picocenter` start (a restore among them) pay
 * several milliseconds of dynamic linking for a library only S3 needs.
 */
#ifndef PC_STORE_CURL_LIB_H
#define PC_STORE_CURL_LIB_H

#include <curl/curl.h>

struct curl_lib {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *h);
	void (*easy_reset)(CURL *h);
	CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_cleanup)(CURLM *m);
	CURLMcode (*multi_add_handle)(CURLM *m, CURL *h);
	CURLMcode (*multi_remove_handle)(CURLM *m, CURL *h);
	CURLMsg *(*multi_info_read)(CURLM *m, int *left);
	CURLMcode (*multi_perform)(CURLM *m, int *running);
	CURLMcode (*multi_poll)(CURLM *m, struct curl_waitfd *extra, unsigned int n,
				int timeout_ms, int *numfds);
	CURLMcode (*multi_setopt)(CURLM *m, CURLMoption opt, ...);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
};

/* The loaded library, or NULL (with err_set) if libcurl.so.4 is missing. */
const struct curl_lib *curl_lib(void);

#endif

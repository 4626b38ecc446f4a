/*
 * http.h - the HTTP plumbing the daemons' APIs share (libmicrohttpd, see
 * mhd_lib.h): listening on a unix socket or a TCP address, optionally
 * with TLS; collecting request bodies (at most API_BODY_MAX); JSON and
 * error answers.  The routes live with each daemon: server.c for
 * `picocenter serve`, hub/api.c for `picocenter hub`.
 */
#ifndef PC_API_HTTP_H
#define PC_API_HTTP_H

#include <jansson.h>

#include "api/mhd_lib.h"

struct http_body {
	char *buf;             /* NUL-terminated; NULL when empty */
	size_t len;
	int too_big;           /* over API_BODY_MAX: answer 413 */
};

/* A daemon's routes: called once per request, its body complete. */
typedef enum MHD_Result (*http_route_fn)(void *ctx, struct MHD_Connection *c, const char *url,
					 const char *method, const struct http_body *b);

/* What a listening socket serves; must outlive the server made with it. */
struct http_site {
	http_route_fn route;
	void *ctx;
	const char *tls_cert;  /* PEM text of the certificate and key, or NULL */
	const char *tls_key;
};

/* A listening unix socket at path, mode 0600 (an old socket file there
 * is removed: the caller holds its daemon's lock). */
int http_listen_unix(const char *path, int *out);
/* A listening TCP socket on "ADDR:PORT" (IPv4) or "[ADDR]:PORT" (IPv6). */
int http_listen_tcp(const char *spec, int *out);
/* Serve site on the listening socket fd (taken over), one thread per
 * connection; NULL with err_set on failure (fd is then still the
 * caller's). */
struct MHD_Daemon *http_serve(int fd, const struct http_site *site);
void http_stop(struct MHD_Daemon *d);

/* Answers: text is taken over (freed by libmicrohttpd). */
enum MHD_Result http_send_text(struct MHD_Connection *c, unsigned status, const char *type,
			       char *text, size_t len);
/* o (a new reference, may be NULL: 500) as one line of compact JSON. */
enum MHD_Result http_send_json(struct MHD_Connection *c, unsigned status, json_t *o);
/* {"error": msg} */
enum MHD_Result http_send_error(struct MHD_Connection *c, unsigned status, const char *msg);

#endif

/* http.c - HTTP plumbing shared by the daemons' APIs (see http.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/http.h"
#include "api/request.h"
#include "common/err.h"
#include "common/netaddr.h"

enum MHD_Result http_send_text(struct MHD_Connection *c, unsigned status, const char *type,
			       char *text, size_t len)
{
	const struct mhd_lib *M = mhd_lib();
	struct MHD_Response *r = M ? M->create_response_from_buffer(len, text,
								  MHD_RESPMEM_MUST_FREE)
				   : NULL;
	enum MHD_Result rc;

	if (!r) {
		free(text);
		return MHD_NO;
	}
	M->add_response_header(r, "Content-Type", type);
	rc = M->queue_response(c, status, r);
	M->destroy_response(r);
	return rc;
}

enum MHD_Result http_send_json(struct MHD_Connection *c, unsigned status, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	size_t len;

	json_decref(o);
	if (!text)
		return http_send_text(c, 500, "application/json",
				      strdup("{\"error\":\"out of memory\"}"), 25);
	len = strlen(text);
	text = realloc(text, len + 2);
	if (!text)
		return MHD_NO;
	text[len++] = '\n';
	return http_send_text(c, status, "application/json", text, len);
}

enum MHD_Result http_send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	return http_send_json(c, status, json_pack("{s:s}", "error", msg));
}

/* Collect the body, then route the request. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	const struct http_site *site = cls;
	struct http_body *b = *con_cls;

	(void)version;
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return MHD_NO;
		*con_cls = b;
		return MHD_YES;
	}
	if (*upload_size) {
		if (b->len + *upload_size > API_BODY_MAX) {
			b->too_big = 1;
		} else {
			char *nb = realloc(b->buf, b->len + *upload_size + 1);

			if (!nb)
				return MHD_NO;
			b->buf = nb;
			memcpy(b->buf + b->len, upload, *upload_size);
			b->len += *upload_size;
			b->buf[b->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	return site->route(site->ctx, c, url, method, b);
}

static void done(void *cls, struct MHD_Connection *c, void **con_cls,
		 enum MHD_RequestTerminationCode why)
{
	struct http_body *b = *con_cls;

	(void)cls, (void)c, (void)why;
	if (b) {
		free(b->buf);
		free(b);
	}
	*con_cls = NULL;
}

struct MHD_Daemon *http_serve(int fd, const struct http_site *site)
{
	const struct mhd_lib *M = mhd_lib();
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_POLL;
	struct MHD_Daemon *d;

	if (!M)
		return NULL;
	if (site->tls_cert)
		d = M->start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, handle, (void *)site,
				    MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
				    done, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
				    MHD_OPTION_HTTPS_MEM_CERT, site->tls_cert,
				    MHD_OPTION_HTTPS_MEM_KEY, site->tls_key, MHD_OPTION_END);
	else
		d = M->start_daemon(flags, 0, NULL, NULL, handle, (void *)site,
				    MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
				    done, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0,
				    MHD_OPTION_END);
	if (!d)
		err_set("libmicrohttpd refused to start%s",
			site->tls_cert ? " (is the TLS certificate or key invalid?)" : "");
	return d;
}

void http_stop(struct MHD_Daemon *d)
{
	const struct mhd_lib *M = mhd_lib();

	if (d && M)
		M->stop_daemon(d);
}

int http_listen_unix(const char *path, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int s;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set("api socket path %s is too long", path);
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return err_sys("socket");
	unlink(path);             /* the daemon's lock says no other uses it */
	old = umask(0177);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		umask(old);
		close(s);
		return err_sys("bind %s", path);
	}
	umask(old);
	if (chmod(path, 0600) < 0 || listen(s, 128) < 0) {
		err_sys("listen on %s", path);
		close(s);
		return -1;
	}
	*out = s;
	return 0;
}

int http_listen_tcp(const char *spec, int *out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int s, one = 1;

	if (netaddr_parse(spec, "--listen", &ss, &len) < 0)
		return -1;
	s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return err_sys("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&ss, len) < 0 || listen(s, 128) < 0) {
		err_sys("listen on %s", spec);
		close(s);
		return -1;
	}
	*out = s;
	return 0;
}

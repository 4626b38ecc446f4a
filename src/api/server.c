/* server.c - HTTP routes of the daemon's API (see server.h, docs/api.md). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/mhd_lib.h"
#include "api/request.h"
#include "api/server.h"
#include "common/err.h"
#include "worker/daemon.h"

#define LOG_ANSWER_MAX (2 * APP_LOG_CAP)

static const struct mhd_lib *M;  /* set once by api_start, read-only after */

struct api {
	struct MHD_Daemon *unix_d, *tcp_d;
	char unix_path[PATH_MAX];
};

struct body {
	char *buf;
	size_t len;
	int too_big;
};

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *type,
				 char *text, size_t len)
{
	struct MHD_Response *r =
		M->create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
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

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	size_t len;

	json_decref(o);
	if (!text)
		return send_text(c, 500, "application/json",
				 strdup("{\"error\":\"out of memory\"}"), 25);
	len = strlen(text);
	text = realloc(text, len + 2);
	if (!text)
		return MHD_NO;
	text[len++] = '\n';
	return send_text(c, status, "application/json", text, len);
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	return send_json(c, status, json_pack("{s:s}", "error", msg));
}

static enum MHD_Result answer(struct MHD_Connection *c, int status, json_t *out)
{
	if (status >= 400)
		return send_error(c, (unsigned)status, err_msg()[0] ? err_msg() : "failed");
	return send_json(c, (unsigned)status, out ? out : json_object());
}

/* ---- logs ---- */

/* Append the file at path (at most max bytes from its end) to the stream. */
static void append_file(FILE *out, const char *path, size_t max)
{
	char buf[65536];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return;
	if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > (long)max)
		fseek(f, -(long)max, SEEK_END);
	else
		rewind(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, out);
	fclose(f);
}

struct follow {
	struct daemon *d;
	char name[APP_NAME_MAX + 1];
	char path[PATH_MAX];
	off_t off;
};

static ssize_t follow_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct follow *f = cls;
	struct timespec ts = { 0, 100 * 1000000L };
	char path[PATH_MAX];

	(void)pos;
	for (;;) {
		int fd = open(f->path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		ssize_t n = 0;

		if (fd >= 0 && fstat(fd, &st) == 0) {
			if (st.st_size < f->off)
				f->off = 0;           /* the log was capped: start over */
			n = pread(fd, buf, max, f->off);
		}
		if (fd >= 0)
			close(fd);
		if (n > 0) {
			f->off += n;
			return n;
		}
		if (f->d->stop || op_log_path(f->d, f->name, path, sizeof(path)) != 200)
			return MHD_CONTENT_READER_END_OF_STREAM;
		nanosleep(&ts, NULL);
	}
}

static enum MHD_Result send_logs(struct MHD_Connection *c, struct daemon *d, const char *name)
{
	const char *follow = M->lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "follow");
	char path[PATH_MAX], old[PATH_MAX + 8];
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	if (op_log_path(d, name, path, sizeof(path)) != 200)
		return send_error(c, 404, err_msg());
	snprintf(old, sizeof(old), "%s.1", path);
	out = open_memstream(&text, &len);
	if (!out)
		return send_error(c, 500, "out of memory");
	if (!follow)
		append_file(out, old, LOG_ANSWER_MAX / 2);
	append_file(out, path, LOG_ANSWER_MAX / 2);
	fclose(out);
	if (!follow)
		return send_text(c, 200, "text/plain", text, len);

	/* Follow: what is there now, then what the app writes next. */
	struct follow *f = calloc(1, sizeof(*f));
	struct MHD_Response *r;
	enum MHD_Result rc;

	free(text);
	if (!f)
		return send_error(c, 500, "out of memory");
	f->d = d;
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(f->path, sizeof(f->path), "%s", path);
	r = M->create_response_from_callback(MHD_SIZE_UNKNOWN, 8192, follow_read, f, free);
	if (!r) {
		free(f);
		return MHD_NO;
	}
	M->add_response_header(r, "Content-Type", "text/plain");
	rc = M->queue_response(c, 200, r);
	M->destroy_response(r);
	return rc;
}

/* ---- routes ---- */

static enum MHD_Result route_app(struct MHD_Connection *c, struct daemon *d, const char *method,
				 const char *rest)
{
	char name[APP_NAME_MAX + 2];
	const char *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
	const char *action = slash ? slash + 1 : "";
	json_t *out = NULL;
	int status;

	if (n == 0 || n > APP_NAME_MAX)
		return send_error(c, 404, "no such app");
	memcpy(name, rest, n);
	name[n] = '\0';
	if (!*action && !strcmp(method, "GET"))
		status = op_inspect(d, name, &out);
	else if (!*action && !strcmp(method, "DELETE"))
		status = op_remove(d, name);
	else if (!strcmp(action, "swap-out") && !strcmp(method, "POST"))
		status = op_swap_out(d, name, &out);
	else if (!strcmp(action, "swap-in") && !strcmp(method, "POST"))
		status = op_swap_in(d, name, &out);
	else if (!strcmp(action, "logs") && !strcmp(method, "GET"))
		return send_logs(c, d, name);
	else
		return send_error(c, 405, "no such route");
	return answer(c, status, out);
}

static enum MHD_Result route(struct MHD_Connection *c, struct daemon *d, const char *url,
			     const char *method, const struct body *b)
{
	struct app_spec spec;
	json_t *out = NULL;
	int status;

	err_clear();
	if (!strcmp(url, "/apps") && !strcmp(method, "GET")) {
		status = op_list(d, &out);
		return answer(c, status, out);
	}
	if (!strcmp(url, "/apps") && !strcmp(method, "POST")) {
		if (b->too_big)
			return send_error(c, 413, "request body too large");
		if (api_parse_create(b->buf ? b->buf : "", b->len, &spec) < 0)
			return send_error(c, 400, err_msg());
		status = op_create(d, &spec, &out);
		spec_free(&spec);
		return answer(c, status, out);
	}
	if (!strncmp(url, "/apps/", 6))
		return route_app(c, d, method, url + 6);
	if (!strcmp(url, "/metrics") && !strcmp(method, "GET")) {
		pthread_mutex_lock(&d->lock);
		char *text = metrics_render(d);
		pthread_mutex_unlock(&d->lock);
		if (!text)
			return send_error(c, 500, "out of memory");
		return send_text(c, 200, "text/plain; version=0.0.4", text, strlen(text));
	}
	return send_error(c, 404, "no such route");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct body *b = *con_cls;

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
	return route(c, cls, url, method, b);
}

static void done(void *cls, struct MHD_Connection *c, void **con_cls,
		 enum MHD_RequestTerminationCode why)
{
	struct body *b = *con_cls;

	(void)cls, (void)c, (void)why;
	if (b) {
		free(b->buf);
		free(b);
	}
	*con_cls = NULL;
}

static struct MHD_Daemon *serve_on(int fd, struct daemon *d)
{
	return M->start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
					MHD_USE_POLL,
				0, NULL, NULL, handle, d, MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_NOTIFY_COMPLETED, done, NULL,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0, MHD_OPTION_END);
}

static int listen_unix(const char *path, int *out)
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
	unlink(path);             /* the serve lock says no daemon uses it */
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

/* "ADDR:PORT" (IPv4) or "[ADDR]:PORT" (IPv6). */
static int listen_tcp(const char *spec, int *out)
{
	struct sockaddr_storage ss = { 0 };
	char host[128];
	const char *colon = strrchr(spec, ':');
	char *end;
	long port;
	socklen_t len;
	int s, one = 1;

	if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof(host))
		return err_set("--listen %s: want ADDR:PORT", spec);
	port = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port < 1 || port > 65535)
		return err_set("--listen %s: bad port", spec);
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *a = (void *)&ss;

		host[strlen(host) - 1] = '\0';
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
			return err_set("--listen %s: bad IPv6 address", spec);
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (void *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return err_set("--listen %s: bad IPv4 address", spec);
		len = sizeof(*a);
	}
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

int api_start(struct daemon *d, const char *unix_path, const char *listen, struct api **out)
{
	struct api *api = calloc(1, sizeof(*api));
	int us = -1, ts = -1;

	if (!api)
		return err_set("out of memory");
	M = mhd_lib();
	if (!M) {
		free(api);
		return -1;
	}
	snprintf(api->unix_path, sizeof(api->unix_path), "%s", unix_path);
	if (listen_unix(unix_path, &us) < 0 || (listen && listen_tcp(listen, &ts) < 0))
		goto fail;
	api->unix_d = serve_on(us, d);
	if (!api->unix_d) {
		err_set("cannot start the API on %s", unix_path);
		goto fail;
	}
	us = -1;
	if (listen) {
		api->tcp_d = serve_on(ts, d);
		if (!api->tcp_d) {
			err_set("cannot start the API on %s", listen);
			goto fail;
		}
	}
	*out = api;
	return 0;
fail:
	if (us >= 0)
		close(us);
	if (ts >= 0 && !(api && api->tcp_d))
		close(ts);
	api_stop(api);
	return -1;
}

void api_stop(struct api *api)
{
	if (!api)
		return;
	if (api->unix_d)
		M->stop_daemon(api->unix_d);
	if (api->tcp_d)
		M->stop_daemon(api->tcp_d);
	unlink(api->unix_path);
	free(api);
}

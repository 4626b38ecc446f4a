/* server.c - HTTP routes of the daemon's API (see server.h, docs/api.md). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/http.h"
#include "api/request.h"
#include "api/server.h"
#include "common/err.h"
#include "worker/daemon.h"

#define LOG_ANSWER_MAX (2 * APP_LOG_CAP)

static const struct mhd_lib *M;  /* set once by api_start, read-only after */

struct api {
	struct MHD_Daemon *unix_d, *tcp_d;
	struct http_site site;
	char unix_path[PATH_MAX];
};

static enum MHD_Result answer(struct MHD_Connection *c, int status, json_t *out)
{
	if (status >= 400)
		return http_send_error(c, (unsigned)status, err_msg()[0] ? err_msg() : "failed");
	return http_send_json(c, (unsigned)status, out ? out : json_object());
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
		return http_send_error(c, 404, err_msg());
	snprintf(old, sizeof(old), "%s.1", path);
	out = open_memstream(&text, &len);
	if (!out)
		return http_send_error(c, 500, "out of memory");
	if (!follow)
		append_file(out, old, LOG_ANSWER_MAX / 2);
	append_file(out, path, LOG_ANSWER_MAX / 2);
	fclose(out);
	if (!follow)
		return http_send_text(c, 200, "text/plain", text, len);

	/* Follow: what is there now, then what the app writes next. */
	struct follow *f = calloc(1, sizeof(*f));
	struct MHD_Response *r;
	enum MHD_Result rc;

	free(text);
	if (!f)
		return http_send_error(c, 500, "out of memory");
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
		return http_send_error(c, 404, "no such app");
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
		return http_send_error(c, 405, "no such route");
	return answer(c, status, out);
}

static enum MHD_Result route(void *ctx, struct MHD_Connection *c, const char *url,
			     const char *method, const struct http_body *b)
{
	struct daemon *d = ctx;
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
			return http_send_error(c, 413, "request body too large");
		if (api_parse_create(b->buf ? b->buf : "", b->len, &spec) < 0)
			return http_send_error(c, 400, err_msg());
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
			return http_send_error(c, 500, "out of memory");
		return http_send_text(c, 200, "text/plain; version=0.0.4", text, strlen(text));
	}
	return http_send_error(c, 404, "no such route");
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
	api->site.route = route;
	api->site.ctx = d;
	snprintf(api->unix_path, sizeof(api->unix_path), "%s", unix_path);
	if (http_listen_unix(unix_path, &us) < 0 || (listen && http_listen_tcp(listen, &ts) < 0))
		goto fail;
	api->unix_d = http_serve(us, &api->site);
	if (!api->unix_d) {
		err_wrap("cannot start the API on %s", unix_path);
		goto fail;
	}
	us = -1;
	if (listen) {
		api->tcp_d = http_serve(ts, &api->site);
		if (!api->tcp_d) {
			err_wrap("cannot start the API on %s", listen);
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
	http_stop(api->unix_d);
	http_stop(api->tcp_d);
	unlink(api->unix_path);
	free(api);
}

/* api.c - the hub's HTTP routes and their authentication (see api.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/http.h"
#include "api/request.h"
#include "common/err.h"
#include "common/io.h"
#include "hub/api.h"
#include "hub/hub.h"
#include "hub/token.h"

#define PEM_MAX (256 * 1024)
#define ASK_WAIT_MS 60000      /* a swap through a worker: its answer */
#define ASK_POLL_MS 200        /* an answer through another hub: seen this late */

struct hub_api {
	struct MHD_Daemon *unix_d, *tls_d;
	struct http_site unix_site, tls_site;
	char unix_path[PATH_MAX];
	char *cert, *key;
};

/* Who a request comes from. */
struct caller {
	int worker;                        /* a worker token */
	char tenant[HUB_NAME_MAX + 1];     /* else the tenant's name */
};

/* A registry outcome as an answer: 0 sends out (or {}), the others
 * their status with err_msg. */
static enum MHD_Result answer(struct MHD_Connection *c, int rc, unsigned ok, json_t *out)
{
	static const unsigned status[] = { [HUBREG_NOTFOUND] = 404, [HUBREG_EXISTS] = 409,
					   [HUBREG_NOPLACE] = 503, [HUBREG_BUSY] = 409,
					   [HUBREG_LIMIT] = 403 };

	if (rc == 0)
		return http_send_json(c, ok, out ? out : json_object());
	json_decref(out);
	if (rc < 0) {
		char msg[ERR_MSG_MAX + 32];

		snprintf(msg, sizeof(msg), "registry unavailable: %s", err_msg());
		hub_log("error: %s", msg);
		return http_send_error(c, 503, msg);
	}
	return http_send_error(c, status[rc], err_msg());
}

/* Authenticate; 0 with *who filled, or an answer already queued in *sent. */
static int authenticate(struct hub *h, struct MHD_Connection *c, struct caller *who,
			enum MHD_Result *sent)
{
	const struct mhd_lib *M = mhd_lib();
	const char *tok = token_from_header(
		M->lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"));
	char hash[TOKEN_HASH_LEN + 1];
	int rc;

	memset(who, 0, sizeof(*who));
	if (!tok) {
		*sent = http_send_error(c, 401, "missing token: send Authorization: Bearer TOKEN");
		return -1;
	}
	if (token_hash(tok, hash) < 0) {
		*sent = http_send_error(c, 401, "bad token: not a picocenter token");
		return -1;
	}
	rc = hubreg_tenant_by_token(h->reg, hash, who->tenant);
	if (rc == HUBREG_NOTFOUND) {
		rc = hubreg_worker_token_check(h->reg, hash);
		who->worker = rc == 0;
	}
	if (rc == HUBREG_NOTFOUND) {
		*sent = http_send_error(c, 401, "bad token: no tenant or worker has it");
		return -1;
	}
	if (rc < 0) {
		*sent = answer(c, -1, 0, NULL);
		return -1;
	}
	return 0;
}

static enum MHD_Result forbidden(struct MHD_Connection *c, const char *who)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "this route is for %s tokens", who);
	return http_send_error(c, 403, msg);
}

/* ---- apps (a tenant's) ---- */

static enum MHD_Result create_app(struct hub *h, struct MHD_Connection *c,
				  const struct caller *who, const struct http_body *b)
{
	struct app_spec spec;
	json_t *out = NULL;
	int rc;

	if (b->too_big)
		return http_send_error(c, 413, "request body too large");
	if (api_parse_create(b->buf ? b->buf : "", b->len, &spec) < 0)
		return http_send_error(c, 400, err_msg());
	if (hub_check_name("app", spec.name) < 0) {
		spec_free(&spec);
		return http_send_error(c, 400, err_msg());
	}
	if (!strcmp(spec.name, "ns")) {
		spec_free(&spec);
		return http_send_error(c, 400, "app name 'ns' is the hub's own (ns.ZONE)");
	}
	rc = hubreg_app_create(h->reg, who->tenant, &spec, hub_now_ms(), &out);
	if (rc == 0)
		notify_change(&h->news);
	if (rc == 0)
		hub_log("app %s (tenant %s): placed on %s", spec.name, who->tenant,
			json_string_value(json_object_get(out, "worker")));
	spec_free(&spec);
	return answer(c, rc, 201, out);
}

static enum MHD_Result move_app(struct hub *h, struct MHD_Connection *c,
				const struct caller *who, const char *name,
				const struct http_body *b)
{
	char to[HUB_NAME_MAX + 1];
	json_t *out = NULL;
	int rc;

	if (b->too_big)
		return http_send_error(c, 413, "request body too large");
	if (hub_parse_move(b->buf ? b->buf : "", b->len, to) < 0)
		return http_send_error(c, 400, err_msg());
	rc = hubreg_app_move(h->reg, who->tenant, name, to, &out);
	if (rc == 0)
		notify_change(&h->news);
	if (rc == 0)
		hub_log("app %s (tenant %s): moved to %s", name, who->tenant, to);
	return answer(c, rc, 200, out);
}

/* Swap-out, swap-in and logs: asked of the worker that holds the app
 * (through its sync), answered as its own API would, the swaps with the
 * hub's record of the app. */
static enum MHD_Result ask_worker(struct hub *h, struct MHD_Connection *c,
				  const struct caller *who, const char *name, const char *op)
{
	char id[HUB_ASK_ID_LEN + 1], worker[HUB_NAME_MAX + 1] = "";
	int64_t end = hub_now_ms() + ASK_WAIT_MS;
	uint64_t seen = notify_wait(&h->news, 0, 0);
	int rc, status = 0;
	char *text = NULL;
	json_t *out = NULL;

	if (!strcmp(op, "logs") &&
	    mhd_lib()->lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "follow"))
		return http_send_error(c, 501, "logs --follow is not offered through a hub (the "
				       "worker's own API has it); without it, the log's last 64 KiB");
	rc = hubreg_ask_create(h->reg, who->tenant, name, op, hub_now_ms(), id);
	if (rc != 0)
		return answer(c, rc, 200, NULL);
	notify_change(&h->news);
	while ((rc = hubreg_ask_result(h->reg, id, &status, &text, worker)) == 0 && !status &&
	       hub_now_ms() < end)
		seen = notify_wait(&h->news, seen, ASK_POLL_MS);
	if (hubreg_ask_forget(h->reg, id) < 0 && rc == 0)
		rc = -1;
	if (rc != 0 || !status) {
		free(text);
		if (rc == 0)
			return http_send_error(c, 504, "the app's worker did not answer in time");
		return answer(c, rc, 200, NULL);
	}
	if (status != 200) {
		enum MHD_Result sent = http_send_error(c, (unsigned)status, text);

		free(text);
		return sent;
	}
	if (!strcmp(op, "logs"))      /* text is taken over */
		return http_send_text(c, 200, "text/plain; charset=utf-8", text, strlen(text));
	free(text);
	hub_log("app %s (tenant %s): %s on %s", name, who->tenant, op, worker);
	rc = hubreg_app_get(h->reg, who->tenant, name, &out);
	return answer(c, rc, 200, out);
}

static enum MHD_Result route_app(struct hub *h, struct MHD_Connection *c,
				 const struct caller *who, const char *method, const char *rest,
				 const struct http_body *b)
{
	char name[HUB_NAME_MAX + 2];
	const char *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
	const char *action = slash ? slash + 1 : "";
	json_t *out = NULL;
	int rc;

	if (n == 0 || n > HUB_NAME_MAX)
		return http_send_error(c, 404, "no such app");
	memcpy(name, rest, n);
	name[n] = '\0';
	if (!*action && !strcmp(method, "GET")) {
		rc = hubreg_app_get(h->reg, who->tenant, name, &out);
		return answer(c, rc, 200, out);
	}
	if (!*action && !strcmp(method, "DELETE")) {
		rc = hubreg_app_remove(h->reg, who->tenant, name);
		if (rc == 0)
			notify_change(&h->news);
		if (rc == 0)
			hub_log("app %s (tenant %s): removed", name, who->tenant);
		return answer(c, rc, 200, NULL);
	}
	if (!strcmp(action, "move") && !strcmp(method, "POST"))
		return move_app(h, c, who, name, b);
	if (hub_ask_op_known(action) &&
	    !strcmp(method, !strcmp(action, "logs") ? "GET" : "POST"))
		return ask_worker(h, c, who, name, action);
	return http_send_error(c, 405, "no such route");
}

/* ---- workers ---- */

static enum MHD_Result worker_beat(struct hub *h, struct MHD_Connection *c, const char *name,
				   const struct http_body *b)
{
	struct worker_report w;
	int rc;

	if (b->too_big)
		return http_send_error(c, 413, "request body too large");
	if (hub_parse_worker(name, b->buf ? b->buf : "", b->len, &w) < 0)
		return http_send_error(c, 400, err_msg());
	rc = hubreg_worker_beat(h->reg, &w, hub_now_ms());
	return answer(c, rc, 200,
		      rc ? NULL
			 : json_pack("{s:s, s:s, s:I}", "name", w.name, "state", "up",
				     "timeout_ms", (json_int_t)h->worker_timeout_ms));
}

/* A query argument as a number in [0, max]; def when absent or bad. */
static int64_t query_num(struct MHD_Connection *c, const char *key, int64_t max, int64_t def)
{
	const char *v = mhd_lib()->lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
	char *end;
	long long n;

	if (!v || !*v)
		return def;
	n = strtoll(v, &end, 10);
	return *end || n < 0 || n > max ? def : n;
}

/* The pending requests for app (of all the worker's) as its "asks". */
static void add_asks(json_t *a, const char *app, const json_t *asks)
{
	json_t *mine = json_array();
	size_t i;
	const json_t *k;

	json_array_foreach(asks, i, k) {
		if (!mine || !app || strcmp(app, json_string_value(json_object_get(k, "app"))))
			continue;
		if (json_array_size(mine) < HUB_ASKS_MAX)
			json_array_append_new(mine, json_pack("{s:O, s:O}", "id",
							      json_object_get(k, "id"), "op",
							      json_object_get(k, "op")));
	}
	if (json_array_size(mine))
		json_object_set_new(a, "asks", mine);
	else
		json_decref(mine);
}

/* PUT /workers/NAME/asks/ID: the worker's answer to a request. */
static enum MHD_Result worker_answer(struct hub *h, struct MHD_Connection *c, const char *name,
				     const char *id, const struct http_body *b)
{
	char *text = NULL;
	int status, rc;

	if (b->too_big)
		return http_send_error(c, 413, "request body too large");
	if (hub_check_ask_id(id) < 0 ||
	    hub_parse_ask_answer(b->buf ? b->buf : "", b->len, &status, &text) < 0)
		return http_send_error(c, 400, err_msg());
	rc = hubreg_ask_answer(h->reg, name, id, status, text);
	free(text);
	if (rc == 0)
		notify_change(&h->news);
	return answer(c, rc, 200, NULL);
}

/* GET /workers/NAME/sync?seen=V&wait=MS: after up to MS (at most 5 s)
 * waiting for news newer than V, {"version", "apps"}: the apps placed on
 * the worker or held by it, each with "wake_ms" (DNS asked for it
 * lately, 0 if not) and "asks" (tenants' requests for the worker). */
static enum MHD_Result worker_sync(struct hub *h, struct MHD_Connection *c, const char *name)
{
	uint64_t seen = (uint64_t)query_num(c, "seen", INT64_MAX, 0);
	int64_t wait = query_num(c, "wait", 5000, 0);
	uint64_t v = notify_wait(&h->news, seen, wait);
	json_t *apps = NULL, *asks = NULL;
	int rc = hubreg_worker_apps(h->reg, name, &apps);

	if (rc == 0)
		rc = hubreg_ask_pending(h->reg, name, &asks);
	for (size_t i = 0; rc == 0 && i < json_array_size(apps); i++) {
		json_t *a = json_array_get(apps, i);
		const char *app = json_string_value(json_object_get(a, "name"));

		json_object_set_new(a, "wake_ms", json_integer(app ? notify_wake_ms(&h->news, app) : 0));
		add_asks(a, app, asks);
	}
	json_decref(asks);
	return answer(c, rc, 200,
		      rc ? apps : json_pack("{s:I, s:o}", "version", (json_int_t)v, "apps", apps));
}

/* PUT /workers/NAME/apps/APP: the worker's report (request.h). */
static enum MHD_Result worker_report(struct hub *h, struct MHD_Connection *c, const char *name,
				     const char *app, const struct http_body *b)
{
	struct run_report rep;
	int rc;

	if (b->too_big)
		return http_send_error(c, 413, "request body too large");
	if (hub_parse_run(app, b->buf ? b->buf : "", b->len, &rep) < 0)
		return http_send_error(c, 400, err_msg());
	rc = hubreg_app_report(h->reg, name, &rep);
	if (rc == 0 && rep.move_failed[0])
		hub_log("app %s: worker %s could not hand it over (%s); it stays there", app, name,
			rep.move_failed);
	if (rc == 0)
		notify_change(&h->news);
	return answer(c, rc, 200, NULL);
}

/* /workers/NAME/apps/APP */
static enum MHD_Result worker_app(struct hub *h, struct MHD_Connection *c, const char *name,
				  const char *method, const char *app, const struct http_body *b)
{
	json_t *out = NULL;
	int rc;

	if (strlen(app) > HUB_NAME_MAX || strchr(app, '/'))
		return http_send_error(c, 404, "no such app");
	if (!strcmp(method, "PUT"))
		return worker_report(h, c, name, app, b);
	if (!strcmp(method, "GET")) {
		rc = hubreg_app_any(h->reg, app, &out);
		return answer(c, rc, 200, out);
	}
	return http_send_error(c, 405, "no such route");
}

static enum MHD_Result route_worker(struct hub *h, struct MHD_Connection *c,
				    const struct caller *who, const char *method,
				    const char *rest, const struct http_body *b)
{
	char name[HUB_NAME_MAX + 2];
	const char *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
	json_t *out = NULL;

	if (!who->worker)
		return forbidden(c, "worker");
	if (n == 0 || n > HUB_NAME_MAX)
		return http_send_error(c, 404, "no such worker");
	memcpy(name, rest, n);
	name[n] = '\0';
	if (!slash && !strcmp(method, "PUT"))
		return worker_beat(h, c, name, b);
	if (slash && !strcmp(slash, "/apps") && !strcmp(method, "GET")) {
		int rc = hubreg_worker_apps(h->reg, name, &out);

		return answer(c, rc, 200, out);
	}
	if (slash && !strcmp(slash, "/sync") && !strcmp(method, "GET"))
		return worker_sync(h, c, name);
	if (slash && !strncmp(slash, "/apps/", 6))
		return worker_app(h, c, name, method, slash + 6, b);
	if (slash && !strncmp(slash, "/asks/", 6) && !strcmp(method, "PUT"))
		return worker_answer(h, c, name, slash + 6, b);
	return http_send_error(c, 405, "no such route");
}

static enum MHD_Result route(void *ctx, struct MHD_Connection *c, const char *url,
			     const char *method, const struct http_body *b)
{
	struct hub *h = ctx;
	struct caller who;
	enum MHD_Result sent;
	json_t *out = NULL;
	int rc;

	err_clear();
	if (authenticate(h, c, &who, &sent) < 0)
		return sent;
	if (!strcmp(url, "/workers") && !strcmp(method, "GET")) {
		rc = hubreg_worker_list(h->reg, &out);
		return answer(c, rc, 200, out);
	}
	if (!strncmp(url, "/workers/", 9))
		return route_worker(h, c, &who, method, url + 9, b);
	if (who.worker)
		return forbidden(c, "tenant");
	if (!strcmp(url, "/apps") && !strcmp(method, "GET")) {
		rc = hubreg_app_list(h->reg, who.tenant, &out);
		return answer(c, rc, 200, out);
	}
	if (!strcmp(url, "/apps") && !strcmp(method, "POST"))
		return create_app(h, c, &who, b);
	if (!strncmp(url, "/apps/", 6))
		return route_app(h, c, &who, method, url + 6, b);
	return http_send_error(c, 404, "no such route");
}

/* ---- start, stop ---- */

static int read_pem(const char *path, char **out)
{
	char *buf = malloc(PEM_MAX);
	ssize_t n;

	if (!buf)
		return err_set("out of memory");
	n = read_small(path, buf, PEM_MAX);
	if (n <= 0) {
		free(buf);
		return n < 0 ? err_sys("read %s", path) : err_set("%s is empty", path);
	}
	*out = buf;
	return 0;
}

static int start_tls(struct hub_api *api, struct hub *h, const char *listen, const char *cert,
		     const char *key)
{
	int fd;

	if (read_pem(cert, &api->cert) < 0 || read_pem(key, &api->key) < 0)
		return err_wrap("--tls-cert/--tls-key");
	api->tls_site = (struct http_site){ route, h, api->cert, api->key };
	if (http_listen_tcp(listen, &fd) < 0)
		return -1;
	api->tls_d = http_serve(fd, &api->tls_site);
	if (!api->tls_d) {
		close(fd);
		return err_wrap("HTTPS on %s", listen);
	}
	return 0;
}

int hub_api_start(struct hub *h, const char *listen, const char *cert, const char *key,
		  struct hub_api **out)
{
	struct hub_api *api = calloc(1, sizeof(*api));
	int fd;

	if (!api)
		return err_set("out of memory");
	if (!mhd_lib()) {
		free(api);
		return -1;
	}
	api->unix_site = (struct http_site){ route, h, NULL, NULL };
	snprintf(api->unix_path, sizeof(api->unix_path), "%s/api.sock", h->dir);
	if (http_listen_unix(api->unix_path, &fd) < 0)
		goto fail;
	api->unix_d = http_serve(fd, &api->unix_site);
	if (!api->unix_d) {
		close(fd);
		err_wrap("the API on %s", api->unix_path);
		goto fail;
	}
	if (listen && start_tls(api, h, listen, cert, key) < 0)
		goto fail;
	*out = api;
	return 0;
fail:
	hub_api_stop(api);
	return -1;
}

void hub_api_stop(struct hub_api *api)
{
	if (!api)
		return;
	http_stop(api->unix_d);
	http_stop(api->tls_d);
	if (api->unix_d)
		unlink(api->unix_path);
	free(api->cert);
	free(api->key);
	free(api);
}

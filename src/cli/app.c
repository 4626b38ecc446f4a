/*
 * app.c - `picocenter app create|ls|inspect|logs|rm|swap-out|swap-in`:
 * the client of `picocenter serve`, over HTTP on the daemon's unix socket
 * (STATE_DIR/api.sock; --state-dir or PICOCENTER_STATE_DIR).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "cli/cmd.h"
#include "box/box.h"
#include "common/err.h"
#include "store/curl_lib.h"
#include "worker/spec.h"

#define CLIENT_TIMEOUT_S 300

struct reply {
	long status;
	char *body;
	size_t len;
	int stream;            /* write the body to stdout as it comes */
};

static const char *verb = "app";

static int app_usage(void)
{
	fprintf(stderr,
		"usage: picocenter app [--state-dir DIR] COMMAND ...\n"
		"  create NAME [--runtime box|plain] [--rootfs host|DIR|oci:PATH[:TAG]]\n"
		"              [--port [HOSTADDR:]HOSTPORT:APPPORT[/tcp|/udp]]... [--env K=V]...\n"
		"              [--memory SIZE] [--pids N] [--user UID[:GID]] [--workdir DIR]\n"
		"              [--no-egress] [--idle DURATION] [--sleep DURATION] -- CMD [ARGS...]\n"
		"  ls\n"
		"  inspect NAME [--json]\n"
		"  logs NAME [--follow]\n"
		"  rm NAME\n"
		"  swap-out NAME\n"
		"  swap-in NAME\n"
		"The daemon (picocenter serve) is found by --state-dir or PICOCENTER_STATE_DIR.\n"
		"Durations: 500ms, 2s, 1.5m, 1h (default idle 60s, sleep 10m).\n"
		"An app runs in a box of its own unless --runtime plain (the host's network and\n"
		"files; its --port N is a port it listens on).  A boxed app's --port N is N:N.\n");
	return 2;
}

static int fail(const char *msg)
{
	fprintf(stderr, "picocenter app %s: %s\n", verb, msg);
	return 1;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = size * n;
	char *nb;

	if (r->stream && r->status < 400) {
		fwrite(p, 1, len, stdout);
		fflush(stdout);
		return len;
	}
	nb = realloc(r->body, r->len + len + 1);
	if (!nb)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, p, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	int code;

	if (sscanf(p, "HTTP/%*s %d", &code) == 1)
		r->status = code;
	return size * n;
}

/* curl_easy_perform through the multi interface (what curl_lib loads). */
static CURLcode perform(const struct curl_lib *cl, CURL *h)
{
	CURLM *m = cl->multi_init();
	CURLcode rc = CURLE_OK;
	int running = 1, left;
	CURLMsg *msg;

	if (!m)
		return CURLE_OUT_OF_MEMORY;
	if (cl->multi_add_handle(m, h) != CURLM_OK) {
		cl->multi_cleanup(m);
		return CURLE_FAILED_INIT;
	}
	while (running) {
		if (cl->multi_perform(m, &running) != CURLM_OK) {
			rc = CURLE_RECV_ERROR;
			break;
		}
		if (running && cl->multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK) {
			rc = CURLE_RECV_ERROR;
			break;
		}
	}
	while ((msg = cl->multi_info_read(m, &left)))
		if (msg->msg == CURLMSG_DONE)
			rc = msg->data.result;
	cl->multi_remove_handle(m, h);
	cl->multi_cleanup(m);
	return rc;
}

/* One request to the daemon; the reply's body and status in *r. */
static int request(const char *state_dir, const char *method, const char *path,
		   const char *body, struct reply *r)
{
	const struct curl_lib *cl = curl_lib();
	char sock[PATH_MAX], url[512];
	struct curl_slist *hdr = NULL;
	CURLcode rc;
	CURL *h;

	if (!cl)
		return -1;
	snprintf(sock, sizeof(sock), "%s/api.sock", state_dir);
	snprintf(url, sizeof(url), "http://localhost%s", path);
	h = cl->easy_init();
	if (!h)
		return err_set("curl init failed");
	cl->easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
	cl->easy_setopt(h, CURLOPT_URL, url);
	cl->easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	cl->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	cl->easy_setopt(h, CURLOPT_WRITEDATA, r);
	cl->easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	cl->easy_setopt(h, CURLOPT_HEADERDATA, r);
	cl->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (!r->stream)
		cl->easy_setopt(h, CURLOPT_TIMEOUT, (long)CLIENT_TIMEOUT_S);
	if (body) {
		hdr = cl->slist_append(NULL, "Content-Type: application/json");
		cl->easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
		cl->easy_setopt(h, CURLOPT_POSTFIELDS, body);
	}
	rc = perform(cl, h);
	cl->slist_free_all(hdr);
	cl->easy_cleanup(h);
	if (rc != CURLE_OK)
		return err_set("cannot reach the daemon at %s: %s", sock, cl->easy_strerror(rc));
	return 0;
}

/* Run a request; on an error answer print its message.  0 or exit code. */
static int call(const char *dir, const char *method, const char *path, const char *body,
		json_t **out)
{
	struct reply r = { 0 };
	json_error_t jerr;
	json_t *o;

	if (request(dir, method, path, body, &r) < 0) {
		free(r.body);
		return fail(err_msg());
	}
	o = r.body ? json_loads(r.body, 0, &jerr) : NULL;
	if (r.status >= 400) {
		const char *msg = json_string_value(json_object_get(o, "error"));

		fail(msg ? msg : (r.body ? r.body : "failed"));
		json_decref(o);
		free(r.body);
		return 1;
	}
	free(r.body);
	if (out)
		*out = o;
	else
		json_decref(o);
	if (out && !o)
		return fail("the daemon's answer is not JSON");
	return 0;
}

/* ---- create ---- */

static int add_port(json_t *ports, const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end || v < 1 || v > 65535)
		return err_set("invalid port '%s' (a plain app's --port is a number)", s);
	return json_array_append_new(ports, json_integer(v));
}

/* A boxed app's --port: "N" publishes N:N, else [HOSTADDR:]HOSTPORT:APPPORT[/proto]. */
static int add_publish(json_t *publish, const char *s)
{
	char buf[64];

	if (s[0] && strspn(s, "0123456789") == strlen(s) && strlen(s) < 8) {
		snprintf(buf, sizeof(buf), "%s:%s", s, s);
		s = buf;
	}
	return json_array_append_new(publish, json_string(s));
}

static int add_duration(json_t *o, const char *key, const char *s)
{
	int64_t ms;

	if (parse_duration_ms(s, &ms) < 0)
		return -1;
	return json_object_set_new(o, key, json_integer(ms));
}

static int add_workdir(json_t *o, const char *s)
{
	char path[PATH_MAX];

	if (!realpath(s, path))
		return err_sys("workdir %s", s);
	return json_object_set_new(o, "workdir", json_string(path));
}

static int add_size(json_t *o, const char *s)
{
	uint64_t bytes;

	if (box_parse_size(s, &bytes) < 0)
		return err_wrap("--memory");
	return json_object_set_new(o, "memory", json_integer((json_int_t)bytes));
}

static int add_count(json_t *o, const char *s)
{
	uint32_t n;

	if (box_parse_count(s, APP_PIDS_MAX, &n) < 0)
		return err_wrap("--pids");
	return json_object_set_new(o, "pids", json_integer(n));
}

struct create_cli {
	json_t *o;
	const char *runtime;       /* box (default) or plain */
	const char *workdir;
	const char *ports[APP_MAX_PORTS];
	int nports;
};

/* One option with its value. */
static int create_option(struct create_cli *c, const char *opt, const char *val)
{
	json_t *o = c->o;

	if (!strcmp(opt, "--port")) {
		if (c->nports == APP_MAX_PORTS)
			return err_set("more than %d ports", APP_MAX_PORTS);
		c->ports[c->nports++] = val;
		return 0;
	}
	if (!strcmp(opt, "--env"))
		return strchr(val, '=') && val[0] != '='
			       ? json_array_append_new(json_object_get(o, "env"), json_string(val))
			       : err_set("--env %s: want K=V", val);
	if (!strcmp(opt, "--runtime")) {
		c->runtime = val;
		return strcmp(val, "box") && strcmp(val, "plain")
			       ? err_set("--runtime %s: box or plain", val) : 0;
	}
	if (!strcmp(opt, "--workdir"))
		return c->workdir = val, 0;
	if (!strcmp(opt, "--idle"))
		return add_duration(o, "idle_ms", val);
	if (!strcmp(opt, "--sleep"))
		return add_duration(o, "sleep_ms", val);
	if (!strcmp(opt, "--rootfs"))
		return json_object_set_new(o, "rootfs", json_string(val));
	if (!strcmp(opt, "--user"))
		return json_object_set_new(o, "user", json_string(val));
	if (!strcmp(opt, "--memory"))
		return add_size(o, val);
	if (!strcmp(opt, "--pids"))
		return add_count(o, val);
	return err_set("unknown option %s", opt);
}

/* What depends on the runtime: the ports' form and the working dir. */
static int create_finish(struct create_cli *c)
{
	int plain = !strcmp(c->runtime, "plain");
	json_t *list = json_array();

	json_object_set_new(c->o, "runtime", json_string(c->runtime));
	json_object_set_new(c->o, plain ? "ports" : "publish", list);
	for (int i = 0; i < c->nports; i++)
		if ((plain ? add_port(list, c->ports[i]) : add_publish(list, c->ports[i])) < 0)
			return -1;
	if (!c->workdir)
		return 0;
	if (plain)
		return add_workdir(c->o, c->workdir);
	if (c->workdir[0] != '/')
		return err_set("--workdir %s: a boxed app's working dir is an absolute path in its box",
			       c->workdir);
	return json_object_set_new(c->o, "workdir", json_string(c->workdir));
}

static int parse_create(int argc, char **argv, json_t *o)
{
	struct create_cli c = { .o = o, .runtime = "box" };
	json_t *args = json_array();
	int i;

	json_object_set_new(o, "env", json_array());
	json_object_set_new(o, "argv", args);
	if (argc < 2 || argv[1][0] == '-')
		return err_set("missing app name");
	if (spec_check_name(argv[1]) < 0)
		return -1;
	json_object_set_new(o, "name", json_string(argv[1]));
	for (i = 2; i < argc && strcmp(argv[i], "--"); i += 2) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(opt, "--no-egress")) {
			json_object_set_new(o, "no_egress", json_true());
			i--;
			continue;
		}
		if (!val || !strcmp(val, "--"))
			return err_set("%s wants a value", opt);
		if (create_option(&c, opt, val) < 0)
			return -1;
	}
	if (create_finish(&c) < 0)
		return -1;
	if (i + 1 >= argc)
		return err_set("missing command (after --)");
	for (i++; i < argc; i++)
		json_array_append_new(args, json_string(argv[i]));
	return 0;
}

static int app_create(const char *dir, int argc, char **argv)
{
	json_t *o = json_object(), *out = NULL;
	char *body;
	int rc;

	if (!o || parse_create(argc, argv, o) < 0) {
		json_decref(o);
		return fail(err_msg()[0] ? err_msg() : "out of memory");
	}
	body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!body)
		return fail("out of memory");
	rc = call(dir, "POST", "/apps", body, &out);
	free(body);
	if (rc == 0)
		printf("%s %s\n", json_string_value(json_object_get(out, "name")),
		       json_string_value(json_object_get(out, "state")));
	json_decref(out);
	return rc;
}

/* ---- ls, inspect ---- */

static void ports_text(const json_t *ports, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < json_array_size(ports) && n < len; i++) {
		const json_t *p = json_array_get(ports, i);

		if (json_is_string(p))
			n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? "," : "",
					      json_string_value(p));
		else
			n += (size_t)snprintf(buf + n, len - n, "%s%lld", i ? "," : "",
					      (long long)json_integer_value(p));
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

static long long event_ms(const json_t *app, const char *key)
{
	const json_t *e = json_object_get(app, key);

	return json_is_object(e) ? (long long)json_integer_value(json_object_get(e, "ms")) : -1;
}

static int app_ls(const char *dir)
{
	json_t *list = NULL;
	char ports[256];
	int rc = call(dir, "GET", "/apps", NULL, &list);

	if (rc)
		return rc;
	printf("%-24s %-13s %-16s %6s %8s %8s\n", "NAME", "STATE", "PORTS", "SWAPS", "OUT_MS",
	       "IN_MS");
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *a = json_array_get(list, i);

		ports_text(json_object_get(a, "ports"), ports, sizeof(ports));
		printf("%-24s %-13s %-16s %6lld %8lld %8lld\n",
		       json_string_value(json_object_get(a, "name")),
		       json_string_value(json_object_get(a, "state")), ports,
		       (long long)json_integer_value(json_object_get(a, "swaps")),
		       event_ms(a, "last_swap_out"), event_ms(a, "last_swap_in"));
	}
	json_decref(list);
	return 0;
}

static void print_event(const json_t *a, const char *key)
{
	const json_t *e = json_object_get(a, key);
	char when[32] = "-";

	if (!json_is_object(e)) {
		printf("%-14s -\n", key);
		return;
	}
	time_t t = (time_t)(json_integer_value(json_object_get(e, "at")) / 1000);
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%-14s %lld ms at %s (%s)\n", key,
	       (long long)json_integer_value(json_object_get(e, "ms")), when,
	       json_string_value(json_object_get(e, "trigger")));
}

static int app_inspect(const char *dir, const char *name, int as_json)
{
	char path[128], ports[256];
	json_t *a = NULL;
	int rc;

	snprintf(path, sizeof(path), "/apps/%s", name);
	rc = call(dir, "GET", path, NULL, &a);
	if (rc)
		return rc;
	if (as_json) {
		json_dumpf(a, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(a);
		return 0;
	}
	ports_text(json_object_get(a, "ports"), ports, sizeof(ports));
	printf("%-14s %s\n%-14s %s\n%-14s %s\n%-14s %s\n", "name",
	       json_string_value(json_object_get(a, "name")), "state",
	       json_string_value(json_object_get(a, "state")), "address",
	       json_string_value(json_object_get(a, "address")), "ports", ports);
	printf("%-14s %lld\n%-14s %lld\n%-14s %lld\n", "rss_bytes",
	       (long long)json_integer_value(json_object_get(a, "rss_bytes")), "image_bytes",
	       (long long)json_integer_value(json_object_get(a, "image_bytes")), "swaps",
	       (long long)json_integer_value(json_object_get(a, "swaps")));
	print_event(a, "last_swap_out");
	print_event(a, "last_swap_in");
	if (json_is_string(json_object_get(a, "error")))
		printf("%-14s %s\n", "error", json_string_value(json_object_get(a, "error")));
	json_decref(a);
	return 0;
}

/* ---- logs, rm, swaps ---- */

static int app_logs(const char *dir, const char *name, int follow)
{
	struct reply r = { .stream = 1 };
	char path[160];

	snprintf(path, sizeof(path), "/apps/%s/logs%s", name, follow ? "?follow=1" : "");
	if (request(dir, "GET", path, NULL, &r) < 0) {
		free(r.body);
		return fail(err_msg());
	}
	if (r.status >= 400) {
		json_error_t jerr;
		json_t *o = r.body ? json_loads(r.body, 0, &jerr) : NULL;
		const char *msg = json_string_value(json_object_get(o, "error"));

		fail(msg ? msg : "failed");
		json_decref(o);
		free(r.body);
		return 1;
	}
	free(r.body);
	return 0;
}

static int app_action(const char *dir, const char *method, const char *name, const char *action)
{
	char path[160];
	json_t *a = NULL;
	int rc;

	snprintf(path, sizeof(path), "/apps/%s%s%s", name, action ? "/" : "", action ? action : "");
	rc = call(dir, method, path, NULL, action ? &a : NULL);
	if (rc)
		return rc;
	if (a) {
		const json_t *e = json_object_get(a, !strcmp(action, "swap-in") ? "last_swap_in"
										 : "last_swap_out");
		printf("%s %s", name, json_string_value(json_object_get(a, "state")));
		if (json_is_object(e))
			printf(" (%lld ms)", (long long)json_integer_value(json_object_get(e, "ms")));
		putchar('\n');
	} else {
		printf("%s removed\n", name);
	}
	json_decref(a);
	return 0;
}

/* --state-dir DIR may come anywhere before "--"; it is taken out of argv. */
static const char *take_state_dir(int *argc, char **argv)
{
	const char *dir = getenv("PICOCENTER_STATE_DIR");

	for (int i = 1; i < *argc && strcmp(argv[i], "--"); i++) {
		if (strcmp(argv[i], "--state-dir") || i + 1 >= *argc)
			continue;
		dir = argv[i + 1];
		memmove(argv + i, argv + i + 2, (size_t)(*argc - i - 2) * sizeof(char *));
		*argc -= 2;
		break;
	}
	return dir;
}

static int need_name(int argc, char **argv, int max)
{
	return argc >= 2 && argc <= max && argv[1][0] != '-';
}

int cmd_app(int argc, char **argv)
{
	const char *dir = take_state_dir(&argc, argv);

	if (argc < 2)
		return app_usage();
	verb = argv[1];
	argc--, argv++;
	if (!dir || !dir[0])
		return fail("no daemon: give --state-dir DIR or set PICOCENTER_STATE_DIR");
	if (!strcmp(verb, "create"))
		return app_create(dir, argc, argv);
	if (!strcmp(verb, "ls") && argc == 1)
		return app_ls(dir);
	if (!strcmp(verb, "inspect") && need_name(argc, argv, 3) &&
	    (argc == 2 || !strcmp(argv[2], "--json")))
		return app_inspect(dir, argv[1], argc == 3);
	if (!strcmp(verb, "logs") && need_name(argc, argv, 3) &&
	    (argc == 2 || !strcmp(argv[2], "--follow")))
		return app_logs(dir, argv[1], argc == 3);
	if (!strcmp(verb, "rm") && need_name(argc, argv, 2))
		return app_action(dir, "DELETE", argv[1], NULL);
	if ((!strcmp(verb, "swap-out") || !strcmp(verb, "swap-in")) && need_name(argc, argv, 2))
		return app_action(dir, "POST", argv[1], verb);
	return app_usage();
}

/*
 * app.c - `picocenter app create|ls|inspect|logs|rm|swap-out|swap-in`:
 * the client of `picocenter serve` or of a hub (cli/client.h says how
 * each is found).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "box/box.h"
#include "common/err.h"
#include "worker/spec.h"

static const char *verb = "app";

static int app_usage(void)
{
	fprintf(stderr,
		"usage: picocenter app [--state-dir DIR | --hub URL --token TOKEN [--cacert FILE]]\n"
		"                      COMMAND ...\n"
		"  create NAME [--runtime box|plain] [--rootfs host|DIR|oci:PATH[:TAG]]\n"
		"              [--port [HOSTADDR:]HOSTPORT:APPPORT[/tcp|/udp]]... [--env K=V]...\n"
		"              [--memory SIZE] [--pids N] [--user UID[:GID]] [--workdir DIR]\n"
		"              [--no-egress] [--no-init] [--idle DURATION] [--idle-cpu PCT]\n"
		"              [--sleep DURATION]\n"
		"              -- CMD [ARGS...]\n"
		"  ls\n"
		"  inspect NAME [--json]\n"
		"  logs NAME [--follow]\n"
		"  rm NAME\n"
		"  swap-out NAME\n"
		"  swap-in NAME\n"
		"  move NAME --to WORKER          (a hub's apps)\n"
		"The daemon (picocenter serve) is found by --state-dir or PICOCENTER_STATE_DIR;\n"
		"a hub by --hub and --token, or PICOCENTER_HUB and PICOCENTER_TOKEN.\n"
		"Durations: 500ms, 2s, 1.5m, 1h (default idle 60s, sleep 10m).  An app is idle\n"
		"while no packet crosses its interface and it uses under --idle-cpu percent of\n"
		"one CPU (default 2).\n"
		"An app runs in a box of its own unless --runtime plain (the host's network and\n"
		"files; its --port N is a port it listens on).  A boxed app's --port N is N:N.\n"
		"CMD runs under picocenter-init (reaps, forwards signals, waits for the\n"
		"processes of a server that daemonizes) unless --no-init.\n");
	return 2;
}

static int fail(const char *msg)
{
	fprintf(stderr, "picocenter app %s: %s\n", verb, msg);
	return 1;
}

/* Run a request; on an error answer print its message.  0 or exit code. */
static int call(const struct target *t, const char *method, const char *path, const char *body,
		json_t **out)
{
	char who[64];

	snprintf(who, sizeof(who), "picocenter app %s", verb);
	return client_call(t, who, method, path, body, out);
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

/* --idle-cpu PCT: "5", "0.5" or "5%" of one CPU; the daemon checks the range. */
static int add_cpu_share(json_t *o, const char *s)
{
	char *end;
	double pct;

	errno = 0;
	pct = strtod(s, &end);
	if (end == s || errno || (*end && strcmp(end, "%")))
		return err_set("--idle-cpu %s: want a percent of one CPU, as 5 or 0.5%%", s);
	return json_object_set_new(o, "idle_cpu", json_real(pct));
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
	if (!strcmp(opt, "--idle-cpu"))
		return add_cpu_share(o, val);
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

		if (!strcmp(opt, "--no-egress") || !strcmp(opt, "--no-init")) {
			json_object_set_new(o, opt[5] == 'e' ? "no_egress" : "init",
					    opt[5] == 'e' ? json_true() : json_false());
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

static int app_create(const struct target *t, int argc, char **argv)
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
	rc = call(t, "POST", "/apps", body, &out);
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

static int app_ls(const struct target *t)
{
	json_t *list = NULL;
	char ports[256];
	int rc = call(t, "GET", "/apps", NULL, &list);

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

/* A wall-clock time in ms as ISO 8601 UTC. */
static void print_time(const char *what, long long ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	if (!gmtime_r(&s, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm))
		snprintf(buf, sizeof(buf), "%lld", ms / 1000);
	printf("%-14s %s.%03lldZ\n", what, buf, ms % 1000);
}

/* A hub's app: where it is placed, who has it, its image, a recovery, a
 * move that failed. */
static void print_hub_fields(const json_t *a)
{
	const json_t *rec = json_object_get(a, "recovered");
	long long img = (long long)json_integer_value(json_object_get(a, "image_ms"));

	if (!json_is_string(json_object_get(a, "worker")))
		return;
	printf("%-14s %s\n%-14s %s\n", "worker", json_string_value(json_object_get(a, "worker")),
	       "held_by", json_string_value(json_object_get(a, "holder")));
	if (img > 0)
		print_time("image", img);
	if (json_is_integer(rec))
		print_time("recovered", (long long)json_integer_value(rec));
	if (json_is_string(json_object_get(a, "move_failed"))) {
		printf("%-14s %s\n", "move_failed",
		       json_string_value(json_object_get(a, "move_failed")));
		print_time("move_failed_at",
			   (long long)json_integer_value(json_object_get(a, "move_failed_at")));
	}
}

static int app_inspect(const struct target *t, const char *name, int as_json)
{
	char path[128], ports[256];
	json_t *a = NULL;
	int rc;

	snprintf(path, sizeof(path), "/apps/%s", name);
	rc = call(t, "GET", path, NULL, &a);
	if (rc)
		return rc;
	if (as_json) {
		json_dumpf(a, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(a);
		return 0;
	}
	ports_text(json_object_get(a, "ports"), ports, sizeof(ports));
	printf("%-14s %s\n%-14s %s\n%-14s %s\n%-14s %s\n%-14s %s\n", "name",
	       json_string_value(json_object_get(a, "name")), "state",
	       json_string_value(json_object_get(a, "state")), "runtime",
	       json_string_value(json_object_get(a, "runtime")), "address",
	       json_string_value(json_object_get(a, "address")), "ports", ports);
	printf("%-14s %lld\n%-14s %lld\n%-14s %lld\n", "rss_bytes",
	       (long long)json_integer_value(json_object_get(a, "rss_bytes")), "image_bytes",
	       (long long)json_integer_value(json_object_get(a, "image_bytes")), "swaps",
	       (long long)json_integer_value(json_object_get(a, "swaps")));
	printf("%-14s %s\n", "init", json_is_false(json_object_get(a, "init")) ? "no" : "yes");
	print_event(a, "last_swap_out");
	print_event(a, "last_swap_in");
	if (json_is_string(json_object_get(a, "error")))
		printf("%-14s %s\n", "error", json_string_value(json_object_get(a, "error")));
	print_hub_fields(a);
	json_decref(a);
	return 0;
}

/* ---- logs, rm, swaps ---- */

static int app_logs(const struct target *t, const char *name, int follow)
{
	struct client_reply r = { .stream = 1 };
	char path[160];

	snprintf(path, sizeof(path), "/apps/%s/logs%s", name, follow ? "?follow=1" : "");
	if (client_request(t, "GET", path, NULL, &r) < 0) {
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

static int app_action(const struct target *t, const char *method, const char *name, const char *action)
{
	char path[160];
	json_t *a = NULL;
	int rc;

	snprintf(path, sizeof(path), "/apps/%s%s%s", name, action ? "/" : "", action ? action : "");
	rc = call(t, method, path, NULL, action ? &a : NULL);
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

/* app move NAME --to WORKER (a hub's). */
static int app_move(const struct target *t, const char *name, const char *to)
{
	json_t *body = json_pack("{s:s}", "to", to), *a = NULL;
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	char path[160];
	int rc;

	json_decref(body);
	if (!text)
		return client_fail("picocenter app move", "out of memory");
	snprintf(path, sizeof(path), "/apps/%s/move", name);
	rc = call(t, "POST", path, text, &a);
	free(text);
	if (rc == 0)
		printf("%s moved to %s (%s)\n", name, json_string_value(json_object_get(a, "worker")),
		       json_string_value(json_object_get(a, "address")));
	json_decref(a);
	return rc;
}

static int need_name(int argc, char **argv, int max)
{
	return argc >= 2 && argc <= max && argv[1][0] != '-';
}

int cmd_app(int argc, char **argv)
{
	struct target target, *t = &target;
	const char *bad = client_take_target(&argc, argv, t);

	if (argc < 2)
		return app_usage();
	verb = argv[1];
	argc--, argv++;
	if (bad)
		return fail(bad);
	if (!strcmp(verb, "create"))
		return app_create(t, argc, argv);
	if (!strcmp(verb, "ls") && argc == 1)
		return app_ls(t);
	if (!strcmp(verb, "inspect") && need_name(argc, argv, 3) &&
	    (argc == 2 || !strcmp(argv[2], "--json")))
		return app_inspect(t, argv[1], argc == 3);
	if (!strcmp(verb, "logs") && need_name(argc, argv, 3) &&
	    (argc == 2 || !strcmp(argv[2], "--follow")))
		return app_logs(t, argv[1], argc == 3);
	if (!strcmp(verb, "rm") && need_name(argc, argv, 2))
		return app_action(t, "DELETE", argv[1], NULL);
	if ((!strcmp(verb, "swap-out") || !strcmp(verb, "swap-in")) && need_name(argc, argv, 2))
		return app_action(t, "POST", argv[1], verb);
	if (!strcmp(verb, "move") && need_name(argc, argv, 4) && argc == 4 &&
	    !strcmp(argv[2], "--to"))
		return app_move(t, argv[1], argv[3]);
	return app_usage();
}

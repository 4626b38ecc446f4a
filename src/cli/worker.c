/*
 * worker.c - `picocenter worker`: a machine's membership in a hub.  It
 * runs `picocenter serve`'s daemon (src/worker) with an agent
 * (worker_sync.c) that registers with the hub, heartbeats with its address
 * and memory (from /proc/meminfo) and runs the apps the hub places on it,
 * until SIGINT/SIGTERM (docs/hub.md).  `picocenter worker ls` lists a
 * hub's workers.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/server.h"
#include "box/box.h"
#include "cli/client.h"
#include "cli/cmd.h"
#include "cli/worker.h"
#include "common/err.h"
#include "common/event_log.h"
#include "common/io.h"
#include "hub/request.h"
#include "worker/daemon.h"

static int worker_usage(void)
{
	fprintf(stderr,
		"usage: picocenter worker --hub URL --token TOKEN --state-dir DIR --address ADDR\n"
		"                         [--name NAME] [--store URL] [--cacert FILE]\n"
		"                         [--mem-low SIZE]\n"
		"                         [--bridge NAME] [--subnet A.B.C.D/N] [--subnet6 PREFIX/N|none]\n"
		"       picocenter worker ls --hub URL --token TOKEN [--cacert FILE]\n"
		"Registers this machine with the hub (a worker token: picocenter hub\n"
		"worker-token), heartbeats and runs the apps the hub places on it, as\n"
		"picocenter serve does, their images in the store (shared by the hub's\n"
		"workers: s3://...).  NAME defaults to the host name.\n");
	return 2;
}

void worker_log(const struct worker_opts *o, const char *fmt, ...)
{
	char who[HUB_NAME_MAX + 8];
	va_list ap;

	snprintf(who, sizeof(who), "worker %s", o->name);
	va_start(ap, fmt);
	event_vlog(who, fmt, ap);
	va_end(ap);
}

/* MemTotal and MemAvailable, in bytes. */
static int read_memory(long long *total, long long *avail)
{
	char buf[8192];
	const char *t, *a;

	if (read_small("/proc/meminfo", buf, sizeof(buf)) < 0)
		return err_sys("read /proc/meminfo");
	t = strstr(buf, "MemTotal:");
	a = strstr(buf, "MemAvailable:");
	if (!t || !a || sscanf(t, "MemTotal: %lld", total) != 1 ||
	    sscanf(a, "MemAvailable: %lld", avail) != 1)
		return err_set("/proc/meminfo has no MemTotal or MemAvailable");
	*total *= 1024;
	*avail *= 1024;
	return 0;
}

/* The host name, lowercase, as a worker name. */
static int default_name(char *name)
{
	char host[256];

	if (gethostname(host, sizeof(host)) < 0)
		return err_sys("gethostname");
	host[sizeof(host) - 1] = '\0';
	for (char *p = host; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	host[strcspn(host, ".")] = '\0';
	if (hub_check_name("worker", host) < 0)
		return err_wrap("the host name does not make a worker name: give --name");
	strcpy(name, host);
	return 0;
}

int worker_beat(const struct worker_opts *o, const char *cached, long long *timeout_ms)
{
	struct client_reply r = { 0 };
	char path[128], body[512 + HUB_CACHED_MAX * (HUB_NAME_MAX + 3)];
	long long total, avail;
	json_error_t jerr;
	json_t *ans;
	int rc;

	if (read_memory(&total, &avail) < 0)
		return -1;
	snprintf(path, sizeof(path), "/workers/%s", o->name);
	snprintf(body, sizeof(body),
		 "{\"address\":\"%s\",\"mem_total_bytes\":%lld,\"mem_free_bytes\":%lld,"
		 "\"mem_low_bytes\":%llu%s%.*s}",
		 o->address, total, avail, (unsigned long long)o->mem_low, cached ? ",\"cached\":" : "",
		 (int)(sizeof(body) - 300), cached ? cached : "");
	if (client_request(&o->hub, "PUT", path, body, &r) < 0) {
		free(r.body);
		return -1;
	}
	ans = r.body ? json_loads(r.body, 0, &jerr) : NULL;
	rc = r.status == 200 ? 0 : (r.status >= 400 && r.status < 500 ? 1 : -1);
	if (rc == 0)
		*timeout_ms = json_integer_value(json_object_get(ans, "timeout_ms"));
	else
		err_set("the hub answered %ld: %s", r.status,
			json_string_value(json_object_get(ans, "error"))
				? json_string_value(json_object_get(ans, "error"))
				: "no message");
	json_decref(ans);
	free(r.body);
	return rc;
}

static int run_worker(struct worker_opts *o)
{
	struct daemon_opts d = { .state_dir = o->state_dir, .store_url = o->store,
				 .bridge = o->bridge, .subnet = o->subnet, .subnet6 = o->subnet6,
				 .chunk_cache = 1, .agent = worker_agent, .agent_arg = o,
				 .api_start = api_start, .api_stop = api_stop };
	int lock_fd = -1, rc;

	if (mkdir_p(o->state_dir) < 0 ||
	    state_dir_lock(o->state_dir, "worker.lock", "picocenter worker", &lock_fd) < 0)
		return -1;
	worker_log(o, "address %s, hub %s%s%s", o->address, o->hub.hub, o->store ? ", store " : "",
		   o->store ? o->store : "");
	rc = daemon_run(&d);
	close(lock_fd);
	if (rc == 0 && o->refused)
		rc = err_set("the hub refused this worker");
	return rc;
}

static int worker_ls(const struct target *t)
{
	json_t *list = NULL;
	int rc = client_call(t, "picocenter worker ls", "GET", "/workers", NULL, &list);

	if (rc)
		return rc;
	printf("%-20s %-40s %-5s %10s %5s\n", "NAME", "ADDRESS", "STATE", "FREE_MB", "APPS");
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *w = json_array_get(list, i);

		printf("%-20s %-40s %-5s %10lld %5lld\n",
		       json_string_value(json_object_get(w, "name")),
		       json_string_value(json_object_get(w, "address")),
		       json_string_value(json_object_get(w, "state")),
		       (long long)json_integer_value(json_object_get(w, "mem_free_bytes")) >> 20,
		       (long long)json_integer_value(json_object_get(w, "apps")));
	}
	json_decref(list);
	return 0;
}

static int parse_worker(int argc, char **argv, struct worker_opts *o)
{
	const char *name = NULL;

	for (int i = 1; i < argc; i += 2) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!val)
			return err_set("%s wants a value", opt);
		if (!strcmp(opt, "--address"))
			o->address = val;
		else if (!strcmp(opt, "--store"))
			o->store = val;
		else if (!strcmp(opt, "--bridge"))
			o->bridge = val;
		else if (!strcmp(opt, "--subnet"))
			o->subnet = val;
		else if (!strcmp(opt, "--subnet6"))
			o->subnet6 = val;
		else if (!strcmp(opt, "--name"))
			name = val;
		else if (!strcmp(opt, "--mem-low")) {
			if (box_parse_size(val, &o->mem_low) < 0 || o->mem_low > HUB_MEM_MAX)
				return err_wrap("--mem-low");
		} else
			return err_set("unknown option %s", opt);
	}
	if (!o->state_dir || !o->address)
		return err_set("--state-dir DIR and --address ADDR are required");
	if (strlen(o->address) >= HUB_ADDR_MAX || strchr(o->address, '"'))
		return err_set("--address %s is not an IP address", o->address);
	if (!name)
		return default_name(o->name);
	if (hub_check_name("worker", name) < 0)
		return -1;
	strcpy(o->name, name);
	return 0;
}

int cmd_worker(int argc, char **argv)
{
	struct worker_opts o = { .mem_low = WORKER_MEM_LOW };
	const char *bad = client_take_target(&argc, argv, &o.hub);

	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return worker_usage();
	if (!bad && !o.hub.hub)
		bad = "--hub URL is required";
	if (bad)
		return client_fail("picocenter worker", bad);
	if (argc == 2 && !strcmp(argv[1], "ls"))
		return worker_ls(&o.hub);
	o.state_dir = o.hub.state_dir;       /* taken out of argv with the hub's */
	if (parse_worker(argc, argv, &o) < 0) {
		fprintf(stderr, "picocenter worker: %s\n", err_msg());
		return 2;
	}
	if (run_worker(&o) < 0) {
		fprintf(stderr, "picocenter worker: %s\n", err_msg());
		return 1;
	}
	return 0;
}

/*
 * spec.h - what an app is made of (name, command, environment, working
 * directory, ports, idle and sleep times, and the box it runs in), its
 * validation and its JSON form, shared by the API (requests), the registry
 * (rows) and the CLI.
 */
#ifndef PC_WORKER_SPEC_H
#define PC_WORKER_SPEC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define APP_NAME_MAX 63
#define APP_MAX_PORTS 32
#define APP_MAX_ARGS 256
#define APP_MAX_ENV 256
#define APP_STR_MAX 4096           /* one argument, variable or path */
#define APP_IDLE_DEFAULT_MS 60000
#define APP_SLEEP_DEFAULT_MS 600000
/* Busy above 2% of one CPU by default: an idle redis-server (its cron at
 * 10 Hz) takes 0.4-0.6% of a CPU on a loaded 2-core machine, and 0.2%
 * kept it busy for ever; a busy app is far above either. */
#define APP_IDLE_CPU_DEFAULT 20     /* thousandths of a CPU (2%) */
#define APP_IDLE_CPU_MAX 100000     /* 100 CPUs */
#define APP_PIDS_MAX 4194304
#define APP_DURATION_MAX_MS (30LL * 24 * 3600 * 1000)

/* What runs the app (runtime.h): its own box (the default), or a plain
 * `cr spawn` tree on the host's network and filesystem. */
enum app_runtime { APP_RT_BOX, APP_RT_PLAIN };

struct app_spec {
	char name[APP_NAME_MAX + 1];
	char **argv;                   /* argc strings, then NULL */
	size_t argc;
	char **env;                    /* "K=V" */
	size_t nenv;
	char *workdir;                 /* absolute; NULL: / */
	uint16_t ports[APP_MAX_PORTS]; /* plain: TCP or UDP ports it listens on */
	size_t nports;
	enum app_runtime runtime;
	int init;                      /* pid 1 is picocenter-init (default) */
	/* box only: */
	char *rootfs;                  /* host | absolute dir | oci:PATH[:TAG]; NULL: host */
	char **publish;                /* "[HOSTADDR:]HOSTPORT:APPPORT[/tcp|/udp]" */
	size_t npublish;
	uint64_t memory;               /* bytes (no swap); 0: no limit */
	uint32_t pids;                 /* 0: no limit */
	int no_egress;
	char *user;                    /* "UID[:GID]"; NULL: root (box) or the daemon's */
	int64_t idle_ms;
	uint32_t idle_cpu;              /* busy above this (thousandths of a CPU) */
	int64_t sleep_ms;
	int sleep_set;            /* sleep_ms was given (not the default) */
};

/* Decode and validate a spec from JSON.  Unknown fields, wrong types and
 * out-of-range values are errors (err_set names the field). */
int spec_from_json(const json_t *o, struct app_spec *spec);
/* The JSON form of spec (a new reference, NULL if out of memory). */
json_t *spec_to_json(const struct app_spec *spec);
void spec_free(struct app_spec *spec);

/* The app's ports (at most APP_MAX_PORTS): host[i] on the host, app[i]
 * where the app listens (plain: both its ports; box: published host port
 * and app port); their number. */
size_t spec_port_pairs(const struct app_spec *spec, uint16_t *host, uint16_t *app);

/* "UID[:GID]" (numbers; GID defaults to UID). */
int spec_parse_user(const char *s, uint32_t *uid, uint32_t *gid);

/* Names: 1-63 of [A-Za-z0-9._-], not starting with '.' or '-'. */
int spec_check_name(const char *name);
/* "500ms", "2s", "1.5m", "1h", "30" (seconds) -> ms in [0, 30 days]. */
int parse_duration_ms(const char *s, int64_t *ms);

#endif

/*
 * hub.c - `picocenter hub`: the control plane in the foreground (see
 * docs/hub.md), and `picocenter hub worker-token`, which prints a new
 * token for workers, on the hub's machine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "common/err.h"
#include "hub/hub.h"
#include "hub/request.h"
#include "hub/token.h"

static int hub_usage(void)
{
	fprintf(stderr,
		"usage: picocenter hub --state-dir DIR --zone ZONE [--db URL] [--dns ADDR:PORT]\n"
		"                      [--listen ADDR:PORT --tls-cert FILE --tls-key FILE]\n"
		"                      [--ttl SECONDS] [--worker-timeout DURATION]\n"
		"                      [--name NAME] [--ns-address ADDR] [--hub-timeout DURATION]\n"
		"       picocenter hub worker-token --state-dir DIR [--db URL]\n"
		"The hub answers DNS for ZONE (default --dns 0.0.0.0:53) and serves the API\n"
		"on DIR/api.sock and over HTTPS on --listen.  The registry is SQLite in DIR,\n"
		"or PostgreSQL with --db postgresql://...  One line per event on stderr.\n");
	return 2;
}

static int parse_ttl(const char *s, uint32_t *ttl)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end || v < 0 || v > 86400)
		return err_set("--ttl %s: want seconds from 0 to 86400", s);
	*ttl = (uint32_t)v;
	return 0;
}

static int parse_hub(int argc, char **argv, struct hub_opts *o)
{
	o->ttl = DNS_TTL_DEFAULT;
	o->dns = "0.0.0.0:53";
	o->worker_timeout_ms = HUB_WORKER_TIMEOUT_MS;
	o->hub_timeout_ms = HUB_HUB_TIMEOUT_MS;
	for (int i = 1; i < argc; i += 2) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		int64_t ms;

		if (!val)
			return err_set("%s wants a value", opt);
		if (!strcmp(opt, "--state-dir"))
			o->state_dir = val;
		else if (!strcmp(opt, "--zone"))
			o->zone = val;
		else if (!strcmp(opt, "--db"))
			o->db_url = val;
		else if (!strcmp(opt, "--listen"))
			o->listen = val;
		else if (!strcmp(opt, "--dns"))
			o->dns = val;
		else if (!strcmp(opt, "--name"))
			o->name = val;
		else if (!strcmp(opt, "--ns-address"))
			o->ns_address = val;
		else if (!strcmp(opt, "--tls-cert"))
			o->tls_cert = val;
		else if (!strcmp(opt, "--tls-key"))
			o->tls_key = val;
		else if (!strcmp(opt, "--ttl")) {
			if (parse_ttl(val, &o->ttl) < 0)
				return -1;
		} else if (!strcmp(opt, "--worker-timeout")) {
			if (parse_duration_ms(val, &ms) < 0)
				return -1;
			if (ms < 100)
				return err_set("--worker-timeout %s: at least 100ms", val);
			o->worker_timeout_ms = ms;
		} else if (!strcmp(opt, "--hub-timeout")) {
			if (parse_duration_ms(val, &ms) < 0)
				return -1;
			if (ms < 1000)
				return err_set("--hub-timeout %s: at least 1s", val);
			o->hub_timeout_ms = ms;
		} else
			return err_set("unknown option %s", opt);
	}
	if (!o->state_dir)
		o->state_dir = getenv("PICOCENTER_STATE_DIR");
	if (!o->state_dir || !o->state_dir[0])
		return err_set("--state-dir DIR is required");
	if (!o->zone)
		return err_set("--zone ZONE is required");
	if (o->name && hub_check_name("hub", o->name) < 0)
		return err_wrap("--name");
	if (o->listen && (!o->tls_cert || !o->tls_key))
		return err_set("--listen serves HTTPS only: give --tls-cert and --tls-key");
	if (!o->listen && (o->tls_cert || o->tls_key))
		return err_set("--tls-cert and --tls-key go with --listen");
	return 0;
}

/* --state-dir DIR [--db URL] of the commands run on the hub's machine. */
int hub_local_opts(int argc, char **argv, int first, const char **dir, const char **db)
{
	*dir = getenv("PICOCENTER_STATE_DIR");
	*db = NULL;
	for (int i = first; i < argc; i += 2) {
		if (i + 1 >= argc)
			return err_set("%s wants a value", argv[i]);
		if (!strcmp(argv[i], "--state-dir"))
			*dir = argv[i + 1];
		else if (!strcmp(argv[i], "--db"))
			*db = argv[i + 1];
		else
			return err_set("unknown option %s", argv[i]);
	}
	if (!*dir || !*dir[0])
		return err_set("--state-dir DIR (the hub's) is required");
	return 0;
}

static int worker_token(int argc, char **argv)
{
	struct hub_registry *reg = NULL;
	char tok[TOKEN_LEN + 1], hash[TOKEN_HASH_LEN + 1];
	const char *dir, *db;

	if (hub_local_opts(argc, argv, 2, &dir, &db) < 0 ||
	    hub_registry_open(dir, db, &reg) < 0 || token_new(tok) < 0 ||
	    token_hash(tok, hash) < 0 || hubreg_worker_token_add(reg, hash, hub_now_ms()) < 0) {
		hubreg_close(reg);
		fprintf(stderr, "picocenter hub worker-token: %s\n", err_msg());
		return 1;
	}
	hubreg_close(reg);
	printf("%s\n", tok);
	return 0;
}

int cmd_hub(int argc, char **argv)
{
	struct hub_opts o = { 0 };

	if (argc >= 2 && !strcmp(argv[1], "worker-token"))
		return worker_token(argc, argv);
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return hub_usage();
	if (parse_hub(argc, argv, &o) < 0) {
		fprintf(stderr, "picocenter hub: %s\n", err_msg());
		return 2;
	}
	if (hub_run(&o) < 0) {
		fprintf(stderr, "picocenter hub: %s\n", err_msg());
		return 1;
	}
	return 0;
}

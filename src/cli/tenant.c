/*
 * tenant.c - `picocenter tenant create|limit|ls|rm`, run on the hub's machine:
 * straight on the registry the hub in --state-dir uses (its SQLite file,
 * or the PostgreSQL URL it saved; --db overrides).  create prints the new
 * tenant's token, the only time it is shown: the registry keeps its hash.
 * Limits (--max-apps N, --max-memory SIZE; 0 for none) cap what the
 * tenant's apps may take; `limit` changes them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "box/box.h"
#include "cli/cmd.h"
#include "common/err.h"
#include "hub/hub.h"
#include "hub/token.h"

static int tenant_usage(void)
{
	fprintf(stderr, "usage: picocenter tenant create NAME --state-dir DIR [--db URL] [LIMITS]\n"
			"       picocenter tenant limit NAME --state-dir DIR [--db URL] [LIMITS]\n"
			"       picocenter tenant ls --state-dir DIR [--db URL]\n"
			"       picocenter tenant rm NAME --state-dir DIR [--db URL]\n"
			"LIMITS: --max-apps N, --max-memory SIZE (0: no limit).\n"
			"Tenant names are DNS labels: 1-63 of [a-z0-9-].\n");
	return 2;
}

struct limits {
	int64_t max_apps, max_memory;
	int given;
};

/* Take --max-apps N and --max-memory SIZE out of argv. */
static int take_limits(int *argc, char **argv, struct limits *l)
{
	for (int i = 1; i + 1 < *argc;) {
		uint64_t bytes;
		char *end;

		if (!strcmp(argv[i], "--max-apps")) {
			l->max_apps = strtoll(argv[i + 1], &end, 10);
			if (!argv[i + 1][0] || *end || l->max_apps < 0 || l->max_apps > 1000000)
				return err_set("--max-apps %s: want 0 to 1000000", argv[i + 1]);
		} else if (!strcmp(argv[i], "--max-memory")) {
			if (box_parse_size(argv[i + 1], &bytes) < 0 && strcmp(argv[i + 1], "0"))
				return err_wrap("--max-memory");
			l->max_memory = strcmp(argv[i + 1], "0") ? (int64_t)bytes : 0;
		} else {
			i++;
			continue;
		}
		l->given = 1;
		memmove(argv + i, argv + i + 2, (size_t)(*argc - i - 2) * sizeof(char *));
		*argc -= 2;
	}
	return 0;
}

static int tenant_create(struct hub_registry *reg, const char *name, const struct limits *l)
{
	char tok[TOKEN_LEN + 1], hash[TOKEN_HASH_LEN + 1];
	int rc;

	if (hub_check_name("tenant", name) < 0 || token_new(tok) < 0 || token_hash(tok, hash) < 0)
		return -1;
	rc = hubreg_tenant_add(reg, name, hash, hub_now_ms());
	if (rc == 0 && l->given)
		rc = hubreg_tenant_limit(reg, name, l->max_apps, l->max_memory);
	if (rc != 0)
		return -1;
	printf("%s\n", tok);
	return 0;
}

static int tenant_ls(struct hub_registry *reg)
{
	json_t *list = NULL;

	if (hubreg_tenant_list(reg, &list) != 0)
		return -1;
	printf("%-24s %6s %9s %14s\n", "NAME", "APPS", "MAX_APPS", "MAX_MEMORY_MB");
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *t = json_array_get(list, i);
		long long ma = json_integer_value(json_object_get(t, "max_apps"));
		long long mm = json_integer_value(json_object_get(t, "max_memory")) >> 20;
		char a[24] = "-", m[24] = "-";

		if (ma)
			snprintf(a, sizeof(a), "%lld", ma);
		if (mm)
			snprintf(m, sizeof(m), "%lld", mm);
		printf("%-24s %6lld %9s %14s\n", json_string_value(json_object_get(t, "name")),
		       (long long)json_integer_value(json_object_get(t, "apps")), a, m);
	}
	json_decref(list);
	return 0;
}

int cmd_tenant(int argc, char **argv)
{
	struct hub_registry *reg = NULL;
	struct limits lim = { 0, 0, 0 };
	const char *dir, *db, *verb = argc >= 2 ? argv[1] : "";
	int named = !strcmp(verb, "create") || !strcmp(verb, "rm") || !strcmp(verb, "limit");
	int rc;

	if ((!named && strcmp(verb, "ls")) || (named && (argc < 3 || argv[2][0] == '-')))
		return tenant_usage();
	if ((!strcmp(verb, "create") || !strcmp(verb, "limit")) &&
	    take_limits(&argc, argv, &lim) < 0) {
		fprintf(stderr, "picocenter tenant %s: %s\n", verb, err_msg());
		return 2;
	}
	if (hub_local_opts(argc, argv, named ? 3 : 2, &dir, &db) < 0 ||
	    hub_registry_open(dir, db, &reg) < 0) {
		fprintf(stderr, "picocenter tenant %s: %s\n", verb, err_msg());
		return 1;
	}
	if (!strcmp(verb, "create"))
		rc = tenant_create(reg, argv[2], &lim);
	else if (!strcmp(verb, "limit"))
		rc = hubreg_tenant_limit(reg, argv[2], lim.max_apps, lim.max_memory) == 0 ? 0 : -1;
	else if (!strcmp(verb, "rm"))
		rc = hubreg_tenant_remove(reg, argv[2]) == 0 ? 0 : -1;
	else
		rc = tenant_ls(reg);
	if (rc == 0 && !strcmp(verb, "rm"))
		printf("%s removed\n", argv[2]);
	if (rc < 0)
		fprintf(stderr, "picocenter tenant %s: %s\n", verb, err_msg());
	hubreg_close(reg);
	return rc < 0 ? 1 : 0;
}

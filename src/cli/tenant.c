/*
 * tenant.c - `picocenter tenant create|ls|rm`, run on the hub's machine:
 * straight on the registry the hub in --state-dir uses (its SQLite file,
 * or the PostgreSQL URL it saved; --db overrides).  create prints the new
 * tenant's token, the only time it is shown: the registry keeps its hash.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cmd.h"
#include "common/err.h"
#include "hub/hub.h"
#include "hub/token.h"

static int tenant_usage(void)
{
	fprintf(stderr, "usage: picocenter tenant create NAME --state-dir DIR [--db URL]\n"
			"       picocenter tenant ls --state-dir DIR [--db URL]\n"
			"       picocenter tenant rm NAME --state-dir DIR [--db URL]\n"
			"Tenant names are DNS labels: 1-63 of [a-z0-9-].\n");
	return 2;
}

static int tenant_create(struct hub_registry *reg, const char *name)
{
	char tok[TOKEN_LEN + 1], hash[TOKEN_HASH_LEN + 1];
	int rc;

	if (hub_check_name("tenant", name) < 0 || token_new(tok) < 0 || token_hash(tok, hash) < 0)
		return -1;
	rc = hubreg_tenant_add(reg, name, hash, hub_now_ms());
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
	printf("%-24s %6s\n", "NAME", "APPS");
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *t = json_array_get(list, i);

		printf("%-24s %6lld\n", json_string_value(json_object_get(t, "name")),
		       (long long)json_integer_value(json_object_get(t, "apps")));
	}
	json_decref(list);
	return 0;
}

int cmd_tenant(int argc, char **argv)
{
	struct hub_registry *reg = NULL;
	const char *dir, *db, *verb = argc >= 2 ? argv[1] : "";
	int named = !strcmp(verb, "create") || !strcmp(verb, "rm");
	int rc;

	if ((!named && strcmp(verb, "ls")) || (named && (argc < 3 || argv[2][0] == '-')))
		return tenant_usage();
	if (hub_local_opts(argc, argv, named ? 3 : 2, &dir, &db) < 0 ||
	    hub_registry_open(dir, db, &reg) < 0) {
		fprintf(stderr, "picocenter tenant %s: %s\n", verb, err_msg());
		return 1;
	}
	if (!strcmp(verb, "create"))
		rc = tenant_create(reg, argv[2]);
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

/*
 * u-placement.c - unit test of the hub's placement rule (src/hub/placement.c)
 * and of its token and name checks (token.c, request.c): prints one line per
 * failed check, exits 1 if any failed.
 */
#include <stdio.h>
#include <string.h>

#include "hub/placement.h"
#include "hub/request.h"
#include "hub/token.h"

#define MB (1LL << 20)

static int failed;

static void expect(int cond, const char *what)
{
	if (!cond) {
		printf("FAIL: %s\n", what);
		failed = 1;
	}
}

static struct place_candidate cand(const char *name, long long free_mb, long apps, long mine,
				   long ports)
{
	struct place_candidate c = { .mem_free = free_mb * MB, .apps = apps,
				     .tenant_apps = mine, .ports_taken = ports };

	snprintf(c.name, sizeof(c.name), "%s", name);
	return c;
}

static void test_placement(void)
{
	struct place_candidate c[4];
	int64_t need = placement_need(0);

	expect(need == PLACE_APP_RESERVE, "no memory limit needs the reserve");
	expect(placement_need(512 * MB) == 512 * MB, "a memory limit is what it needs");
	expect(placement_choose(c, 0, need) == -1, "no worker: none");

	c[0] = cand("a", 1000, 0, 0, 0);
	c[1] = cand("b", 4000, 0, 0, 0);
	expect(placement_choose(c, 2, need) == 1, "the most free memory wins");
	c[1].tenant_apps = 1;
	expect(placement_choose(c, 2, need) == 0, "the tenant's fewest apps win first");
	c[0].ports_taken = 1;
	expect(placement_choose(c, 2, need) == 1, "a worker with a port taken is out");
	c[1].ports_taken = 1;
	expect(placement_choose(c, 2, need) == -1, "every port taken: none");

	c[0] = cand("a", 128, 1, 0, 0);    /* 128 MiB - 64 reserved = 64 left: fits */
	expect(placement_choose(c, 1, need) == 0, "exactly the reserve left fits");
	c[0] = cand("a", 127, 1, 0, 0);
	expect(placement_choose(c, 1, need) == -1, "less than the reserve left is out");
	c[0] = cand("a", 1000, 0, 0, 0);
	expect(placement_choose(c, 1, 2000 * MB) == -1, "a memory limit larger than free is out");

	c[0] = cand("b", 1000, 0, 0, 0);
	c[1] = cand("a", 1000, 0, 0, 0);
	expect(placement_choose(c, 2, need) == 1, "a tie goes by name");
	c[0] = cand("a", 1000, 10, 0, 0);  /* 1000 - 640 = 360 left */
	c[1] = cand("b", 500, 0, 0, 0);
	expect(placement_choose(c, 2, need) == 1, "apps placed count against free memory");

	c[0] = cand("a", 1000, 0, 0, 0);
	c[1] = cand("b", 4000, 0, 0, 0);
	c[0].cached = 1;
	expect(placement_choose(c, 2, need) == 0, "the app's image cached wins over free memory");
	c[0].tenant_apps = 1;
	expect(placement_choose(c, 2, need) == 1, "the tenant's fewest apps win over a cache");
	c[0].tenant_apps = 0;
	c[0].ports_taken = 1;
	expect(placement_choose(c, 2, need) == 1, "a cache does not bring back a worker that is out");
}

static void test_tokens_and_names(void)
{
	char tok[TOKEN_LEN + 1], tok2[TOKEN_LEN + 1], h[TOKEN_HASH_LEN + 1], h2[TOKEN_HASH_LEN + 1];

	expect(token_new(tok) == 0 && token_new(tok2) == 0, "token_new");
	expect(strlen(tok) == TOKEN_LEN && !strncmp(tok, "pc_", 3), "token form");
	expect(strcmp(tok, tok2) != 0, "two tokens differ");
	expect(token_hash(tok, h) == 0 && token_hash(tok, h2) == 0 && !strcmp(h, h2),
	       "a token's hash is stable");
	expect(strlen(h) == TOKEN_HASH_LEN, "hash length");
	expect(token_hash("pc_short", h) < 0, "a short token has no hash");
	tok[5] = 'G';
	expect(token_hash(tok, h) < 0, "a non-hex token has no hash");
	expect(token_from_header("Bearer abc") && !strcmp(token_from_header("bearer  abc"), "abc"),
	       "Bearer, any case");
	expect(token_from_header("Basic abc") == NULL && token_from_header(NULL) == NULL,
	       "not a bearer token");

	expect(hub_check_name("app", "web-1") == 0, "a label");
	expect(hub_check_name("app", "Web") < 0, "uppercase");
	expect(hub_check_name("app", "-web") < 0 && hub_check_name("app", "web-") < 0, "dashes");
	expect(hub_check_name("app", "a.b") < 0 && hub_check_name("app", "a_b") < 0, "dots");
	expect(hub_check_name("app", "") < 0, "empty");
	expect(hub_check_name("app", "0123456789012345678901234567890123456789012345678901234567890123") < 0,
	       "64 characters");
}

int main(void)
{
	test_placement();
	test_tokens_and_names();
	if (!failed)
		printf("placement, tokens, names: ok\n");
	return failed;
}

/*
 * api_request.c - libFuzzer target for the API's request parser
 * (src/api/request.c): any bytes either parse into a spec that satisfies
 * every rule the parser promises, or fail with a message.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "api/request.h"
#include "common/err.h"

static void check_spec(const struct app_spec *s)
{
	assert(spec_check_name(s->name) == 0);
	assert(s->argc >= 1 && s->argc <= APP_MAX_ARGS && s->argv[s->argc] == NULL);
	for (size_t i = 0; i < s->nenv; i++)
		assert(strchr(s->env[i], '=') && s->env[i][0] != '=');
	assert(!s->workdir || s->workdir[0] == '/');
	assert(s->nports <= APP_MAX_PORTS);
	for (size_t i = 0; i < s->nports; i++)
		assert(s->ports[i] >= 1);
	assert(s->idle_ms >= 100 && s->idle_ms <= APP_DURATION_MAX_MS);
	assert(s->sleep_ms >= 0 && s->sleep_ms <= APP_DURATION_MAX_MS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct app_spec spec;

	if (api_parse_create((const char *)data, len, &spec) == 0) {
		check_spec(&spec);
		spec_free(&spec);
	} else {
		assert(err_msg()[0] != '\0');
	}
	return 0;
}

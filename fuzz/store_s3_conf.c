/*
 * store_s3_conf.c - libFuzzer target for the S3 config file parser
 * (s3_conf_parse, src/store/s3_conf.c).
 *
 * The AWS_* variables are cleared first so that only the input decides.
 * An accepted config must hold a usable endpoint, host, credentials and
 * limits in range, every string visible ASCII (they go into URLs and
 * headers); a rejected one must have released everything.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/s3_http.h"

static void visible(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			abort();   /* would go into a URL or a header */
}

static void check(const struct s3_conf *c)
{
	visible(c->endpoint);
	visible(c->access_key);
	visible(c->secret_key);
	visible(c->region);
	if (c->session_token)
		visible(c->session_token);
	if (strncmp(c->endpoint, "http://", 7) && strncmp(c->endpoint, "https://", 8))
		abort();
	if (!c->host[0] || strchr(c->host, '/') || !c->access_key[0] ||
	    !c->secret_key[0] || !c->region[0])
		abort();
	if (c->tries < 1 || c->tries > 20 || c->parallel < 1 ||
	    c->parallel > S3_MAX_PARALLEL || c->connect_timeout_ms < 1 ||
	    c->low_speed_limit < 1 || c->low_speed_time_s < 1)
		abort();
	if (c->session_token && !c->session_token[0])
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const env[] = {
		"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION",
		"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN",
	};

	(void)argc;
	(void)argv;
	for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++)
		unsetenv(env[i]);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s3_conf c;

	if (s3_conf_parse(&c, (const char *)data, size, "fuzz") < 0) {
		if (c.session_token)
			abort();   /* a failed parse must release the token */
		return 0;
	}
	check(&c);
	s3_conf_free(&c);
	return 0;
}

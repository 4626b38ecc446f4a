/*
 * s3_conf.c - where the S3 backend finds its endpoint, region, credentials
 * and limits: built-in defaults, then a key=value config file
 * ($PICOCENTER_S3_CONFIG, else ~/.config/picocenter/s3.conf if present),
 * then the standard AWS_* environment variables.  See docs/store-s3.md.
 */
#include "store/s3_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

#define DEF_CONNECT_TIMEOUT_MS 5000
#define DEF_LOW_SPEED_LIMIT 1024
#define DEF_LOW_SPEED_TIME_S 10
#define DEF_TRIES 3
#define DEF_PARALLEL 16
#define CONF_MAX (64 * 1024)       /* bytes of config file */

/* Values end up in URLs and HTTP headers: visible ASCII only. */
static int check_visible(const char *v, const char *name)
{
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return err_set("s3 config: %s: byte 0x%02x at %zu: want "
				       "printable ASCII, no spaces", name,
				       (unsigned char)*p, (size_t)(p - v));
	return 0;
}

static int set_str(char *dst, size_t cap, const char *v, const char *name)
{
	if (strlen(v) >= cap)
		return err_set("s3 config: %s too long (max %zu)", name, cap - 1);
	if (check_visible(v, name) < 0)
		return -1;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int set_long(long *dst, const char *v, long min, long max, const char *name)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < min || x > max)
		return err_set("s3 config: %s = '%s': want an integer in [%ld, %ld]",
			       name, v, min, max);
	*dst = x;
	return 0;
}

static int set_region(struct s3_conf *c, const char *v)
{
	if (!*v || strspn(v, "abcdefghijklmnopqrstuvwxyz"
			     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(v))
		return err_set("s3 config: region '%.64s': want [A-Za-z0-9._-]+", v);
	return set_str(c->region, sizeof(c->region), v, "region");
}

static int set_token(struct s3_conf *c, const char *v)
{
	free(c->session_token);
	c->session_token = NULL;
	if (!*v)
		return 0;
	if (check_visible(v, "session_token") < 0)
		return -1;
	c->session_token = strdup(v);
	return c->session_token ? 0 : err_sys("s3 config: session token");
}

/* Apply one setting by its config-file name. */
static int conf_set(struct s3_conf *c, const char *k, const char *v)
{
	long x;

	if (!strcmp(k, "endpoint"))
		return set_str(c->endpoint, sizeof(c->endpoint), v, k);
	if (!strcmp(k, "region"))
		return set_region(c, v);
	if (!strcmp(k, "access_key_id"))
		return set_str(c->access_key, sizeof(c->access_key), v, k);
	if (!strcmp(k, "secret_access_key"))
		return set_str(c->secret_key, sizeof(c->secret_key), v, k);
	if (!strcmp(k, "session_token"))
		return set_token(c, v);
	if (!strcmp(k, "connect_timeout_ms"))
		return set_long(&c->connect_timeout_ms, v, 1, 600000, k);
	if (!strcmp(k, "low_speed_limit"))
		return set_long(&c->low_speed_limit, v, 1, 1L << 30, k);
	if (!strcmp(k, "low_speed_time"))
		return set_long(&c->low_speed_time_s, v, 1, 3600, k);
	if (!strcmp(k, "tries")) {
		if (set_long(&x, v, 1, 20, k) < 0)
			return -1;
		c->tries = (int)x;
		return 0;
	}
	if (!strcmp(k, "parallel")) {
		if (set_long(&x, v, 1, S3_MAX_PARALLEL, k) < 0)
			return -1;
		c->parallel = (int)x;
		return 0;
	}
	return err_set("s3 config: unknown key '%s'", k);
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
			 e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int conf_line(struct s3_conf *c, char *line)
{
	char *eq, *k = trim(line);

	if (!*k || *k == '#')
		return 0;
	eq = strchr(k, '=');
	if (!eq)
		return err_set("s3 config: expected key = value");
	*eq = '\0';
	return conf_set(c, trim(k), trim(eq + 1));
}

/* Apply every line of text[0..len) (NUL-terminated at len, writable). */
static int conf_text(struct s3_conf *c, char *text, size_t len, const char *source)
{
	char *line = text, *nl;
	int no = 0;

	if (memchr(text, '\0', len))
		return err_set("s3 config %s: NUL byte", source);
	while (*line) {
		no++;
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (conf_line(c, line) < 0)
			return err_wrap("%s:%d", source, no);
		if (!nl)
			break;
		line = nl + 1;
	}
	snprintf(c->source, sizeof(c->source), "%s", source);
	return 0;
}

/* The whole config file in *text (malloc'd, NUL-terminated); 1 if it is
 * absent and need not exist. */
static int conf_read(const char *path, int must_exist, char **text, size_t *len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	*text = NULL;
	if (!f) {
		if (errno == ENOENT && !must_exist)
			return 1;
		return err_sys("s3 config %s", path);
	}
	*text = malloc(CONF_MAX + 1);
	if (!*text) {
		fclose(f);
		return err_sys("s3 config %s", path);
	}
	n = fread(*text, 1, CONF_MAX + 1, f);
	if (ferror(f))
		err_sys("s3 config %s: read", path);
	else if (n > CONF_MAX)
		err_set("s3 config %s: larger than %d bytes", path, CONF_MAX);
	if (ferror(f) || n > CONF_MAX) {
		fclose(f);
		free(*text);
		*text = NULL;
		return -1;
	}
	fclose(f);
	(*text)[n] = '\0';
	*len = n;
	return 0;
}

static int conf_env(struct s3_conf *c)
{
	static const struct { const char *env, *key; } map[] = {
		{ "AWS_ENDPOINT_URL_S3", "endpoint" },
		{ "AWS_ENDPOINT_URL", "endpoint" },
		{ "AWS_DEFAULT_REGION", "region" },
		{ "AWS_REGION", "region" },
		{ "AWS_ACCESS_KEY_ID", "access_key_id" },
		{ "AWS_SECRET_ACCESS_KEY", "secret_access_key" },
		{ "AWS_SESSION_TOKEN", "session_token" },
	};
	const char *v;

	/* Later entries win (AWS_REGION over AWS_DEFAULT_REGION), except that
	 * the S3-specific endpoint beats the generic one. */
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		v = getenv(map[i].env);
		if (!v || !*v)
			continue;
		if (i == 1 && getenv("AWS_ENDPOINT_URL_S3") && *getenv("AWS_ENDPOINT_URL_S3"))
			continue;
		if (conf_set(c, map[i].key, v) < 0)
			return err_wrap("$%s", map[i].env);
	}
	return 0;
}

/* Split endpoint into the Host header; check the scheme. */
static int conf_endpoint(struct s3_conf *c)
{
	const char *h;
	size_t n;

	if (!c->endpoint[0])
		snprintf(c->endpoint, sizeof(c->endpoint), "https://s3.%s.amazonaws.com",
			 c->region);
	n = strlen(c->endpoint);
	while (n > 0 && c->endpoint[n - 1] == '/')
		c->endpoint[--n] = '\0';
	if (!strncmp(c->endpoint, "http://", 7))
		h = c->endpoint + 7;
	else if (!strncmp(c->endpoint, "https://", 8))
		h = c->endpoint + 8;
	else
		return err_set("s3: endpoint '%s': want http://HOST[:PORT] or https://...",
			       c->endpoint);
	if (!*h || strchr(h, '/') || strchr(h, '?') || strchr(h, '@'))
		return err_set("s3: endpoint '%s': want scheme://HOST[:PORT], no path",
			       c->endpoint);
	snprintf(c->host, sizeof(c->host), "%s", h);
	return 0;
}

static void conf_defaults(struct s3_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->region, sizeof(c->region), "us-east-1");
	c->connect_timeout_ms = DEF_CONNECT_TIMEOUT_MS;
	c->low_speed_limit = DEF_LOW_SPEED_LIMIT;
	c->low_speed_time_s = DEF_LOW_SPEED_TIME_S;
	c->tries = DEF_TRIES;
	c->parallel = DEF_PARALLEL;
	snprintf(c->source, sizeof(c->source), "environment");
}

int s3_conf_parse(struct s3_conf *c, const char *text, size_t len,
		  const char *source)
{
	char *copy = NULL;
	int rc = 0;

	conf_defaults(c);
	if (text) {
		copy = malloc(len + 1);
		if (!copy)
			return err_sys("s3 config %s", source);
		memcpy(copy, text, len);
		copy[len] = '\0';
		rc = conf_text(c, copy, len, source);
		free(copy);
	}
	if (rc < 0 || conf_env(c) < 0 || conf_endpoint(c) < 0)
		goto fail;
	if (!c->access_key[0] || !c->secret_key[0]) {
		err_set("s3: no credentials: set AWS_ACCESS_KEY_ID and "
			"AWS_SECRET_ACCESS_KEY (or access_key_id and secret_access_key "
			"in ~/.config/picocenter/s3.conf)");
		goto fail;
	}
	return 0;
fail:
	s3_conf_free(c);
	return -1;
}

int s3_conf_load(struct s3_conf *c)
{
	const char *path = getenv("PICOCENTER_S3_CONFIG"), *home = getenv("HOME");
	char def[512], *text;
	size_t len = 0;
	int rc;

	if (path && *path) {
		rc = conf_read(path, 1, &text, &len);
	} else {
		snprintf(def, sizeof(def), "%s/.config/picocenter/s3.conf",
			 home && *home ? home : "/root");
		path = def;
		rc = conf_read(path, 0, &text, &len);
	}
	if (rc < 0) {
		memset(c, 0, sizeof(*c));
		return -1;
	}
	rc = s3_conf_parse(c, text, len, path);
	free(text);
	return rc;
}

void s3_conf_free(struct s3_conf *c)
{
	free(c->session_token);
	c->session_token = NULL;
}

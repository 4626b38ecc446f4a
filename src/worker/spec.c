/* spec.c - app specs: validation and JSON form (see spec.h). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "box/box.h"
#include "common/err.h"
#include "worker/spec.h"

int spec_check_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > APP_NAME_MAX)
		return err_set("app name must have 1 to %d characters", APP_NAME_MAX);
	if (name[0] == '.' || name[0] == '-')
		return err_set("app name '%s' must not start with '%c'", name, name[0]);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return err_set("app name may only have letters, digits, '.', '_' and '-'");
	}
	return 0;
}

int parse_duration_ms(const char *s, int64_t *ms)
{
	static const struct { const char *unit; double ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "", 1000 },
	};
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0 || *s == '-' || *s == '+' ||
	    isspace((unsigned char)*s))
		return err_set("invalid duration '%s' (e.g. 500ms, 2s, 1m, 1h)", s);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		v *= units[i].ms;
		if (v > (double)APP_DURATION_MAX_MS)
			return err_set("duration '%s' is longer than 30 days", s);
		*ms = (int64_t)v;
		return 0;
	}
	return err_set("invalid duration '%s' (e.g. 500ms, 2s, 1m, 1h)", s);
}

void spec_free(struct app_spec *spec)
{
	for (size_t i = 0; spec->argv && i < spec->argc; i++)
		free(spec->argv[i]);
	for (size_t i = 0; spec->env && i < spec->nenv; i++)
		free(spec->env[i]);
	free(spec->argv);
	free(spec->env);
	for (size_t i = 0; spec->publish && i < spec->npublish; i++)
		free(spec->publish[i]);
	free(spec->publish);
	free(spec->workdir);
	free(spec->rootfs);
	free(spec->user);
	memset(spec, 0, sizeof(*spec));
}

/* A bounded string without NULs. */
static int get_str(const json_t *v, const char *field, const char **out)
{
	if (!json_is_string(v))
		return err_set("'%s' must be a string", field);
	if (json_string_length(v) > APP_STR_MAX)
		return err_set("'%s' is longer than %d bytes", field, APP_STR_MAX);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return err_set("'%s' has a NUL byte", field);
	*out = json_string_value(v);
	return 0;
}

/* An array of n strings (1 <= n <= max when required) into *out. */
static int get_strings(const json_t *v, const char *field, size_t max, int nonempty,
		       char ***out, size_t *n)
{
	size_t len;

	if (!json_is_array(v))
		return err_set("'%s' must be an array of strings", field);
	len = json_array_size(v);
	if (len > max)
		return err_set("'%s' has more than %zu entries", field, max);
	if (nonempty && len == 0)
		return err_set("'%s' must not be empty", field);
	*out = calloc(len + 1, sizeof(char *));
	if (!*out)
		return err_set("out of memory");
	for (*n = 0; *n < len; (*n)++) {
		const char *s;

		if (get_str(json_array_get(v, *n), field, &s) < 0)
			return -1;
		(*out)[*n] = strdup(s);
		if (!(*out)[*n])
			return err_set("out of memory");
	}
	return 0;
}

static int check_env(const struct app_spec *spec)
{
	for (size_t i = 0; i < spec->nenv; i++) {
		const char *eq = strchr(spec->env[i], '=');

		if (!eq || eq == spec->env[i])
			return err_set("env entry '%.64s' is not K=V", spec->env[i]);
	}
	return 0;
}

int spec_parse_user(const char *s, uint32_t *uid, uint32_t *gid)
{
	char *end;
	long u, g;

	errno = 0;
	u = strtol(s, &end, 10);
	if (end == s || !isdigit((unsigned char)*s) || u > 0x7fffffff || (*end && *end != ':'))
		return err_set("bad user '%.64s' (UID[:GID], numbers)", s);
	g = u;
	if (*end == ':') {
		const char *gs = end + 1;

		g = strtol(gs, &end, 10);
		if (end == gs || !isdigit((unsigned char)*gs) || *end || g > 0x7fffffff)
			return err_set("bad user '%.64s' (UID[:GID], numbers)", s);
	}
	*uid = (uint32_t)u;
	*gid = (uint32_t)g;
	return 0;
}

static int check_rootfs(const char *r)
{
	if (!strcmp(r, "host") || r[0] == '/' || !strncmp(r, "oci:", 4))
		return strlen(r) < BOX_PATH_MAX ? 0 : err_set("'rootfs' is too long");
	return err_set("'rootfs' must be host, an absolute directory or oci:PATH[:TAG]");
}

/* The box's fields fit the runtime: the box takes them all and checks
 * them as the box library will; a plain app takes none of them. */
static int check_runtime(const struct app_spec *spec)
{
	struct box_config cfg;
	uint32_t uid, gid;

	if (spec->user && spec_parse_user(spec->user, &uid, &gid) < 0)
		return -1;
	if (spec->runtime == APP_RT_PLAIN) {
		if (spec->rootfs || spec->publish || spec->memory || spec->pids || spec->no_egress)
			return err_set("rootfs, publish, memory, pids and no_egress need the box "
				       "runtime (this app is plain)");
		return 0;
	}
	if (spec->nports)
		return err_set("a boxed app publishes ports with 'publish' "
			       "([HOSTADDR:]HOSTPORT:APPPORT[/tcp|/udp]), not 'ports'");
	if (!box_name_valid(spec->name))
		return err_set("app name '%s' is not a valid box name (1-23 of a-z 0-9 -, "
			       "or run it plain)", spec->name);
	if (spec->rootfs && check_rootfs(spec->rootfs) < 0)
		return -1;
	if (box_config_init(&cfg, spec->name) < 0)
		return -1;
	for (size_t i = 0; i < spec->npublish; i++)
		if (box_config_add_port(&cfg, spec->publish[i]) < 0)
			return -1;
	return 0;
}

size_t spec_port_pairs(const struct app_spec *spec, uint16_t *host, uint16_t *app)
{
	struct box_config cfg;
	size_t n = 0;

	if (spec->runtime == APP_RT_PLAIN) {
		memcpy(host, spec->ports, spec->nports * sizeof(*host));
		memcpy(app, spec->ports, spec->nports * sizeof(*app));
		return spec->nports;
	}
	if (box_config_init(&cfg, spec->name) < 0)
		return 0;
	for (size_t i = 0; i < spec->npublish && n < APP_MAX_PORTS; i++)
		if (box_config_add_port(&cfg, spec->publish[i]) == 0) {
			host[n] = cfg.ports[cfg.nr_ports - 1].host_port;
			app[n++] = cfg.ports[cfg.nr_ports - 1].app_port;
		}
	return n;
}

static int get_ports(const json_t *v, struct app_spec *spec)
{
	if (!json_is_array(v))
		return err_set("'ports' must be an array of integers");
	if (json_array_size(v) > APP_MAX_PORTS)
		return err_set("'ports' has more than %d entries", APP_MAX_PORTS);
	for (size_t i = 0; i < json_array_size(v); i++) {
		const json_t *p = json_array_get(v, i);
		json_int_t n;

		if (!json_is_integer(p))
			return err_set("'ports' must be an array of integers");
		n = json_integer_value(p);
		if (n < 1 || n > 65535)
			return err_set("port %lld is not in 1..65535", (long long)n);
		for (size_t j = 0; j < spec->nports; j++)
			if (spec->ports[j] == n)
				return err_set("port %lld given twice", (long long)n);
		spec->ports[spec->nports++] = (uint16_t)n;
	}
	return 0;
}

static int get_ms(const json_t *v, const char *field, int64_t min, int64_t *out)
{
	json_int_t n;

	if (!json_is_integer(v))
		return err_set("'%s' must be an integer (milliseconds)", field);
	n = json_integer_value(v);
	if (n < min || n > APP_DURATION_MAX_MS)
		return err_set("'%s' must be in %lld..%lld ms", field, (long long)min,
			       (long long)APP_DURATION_MAX_MS);
	*out = n;
	return 0;
}

/* A string field kept as a copy in *dst. */
static int get_copy(const json_t *v, const char *field, char **dst)
{
	const char *s;

	if (*dst)
		return err_set("'%s' given twice", field);
	if (get_str(v, field, &s) < 0)
		return -1;
	*dst = strdup(s);
	return *dst ? 0 : err_set("out of memory");
}

static int get_runtime(const json_t *v, struct app_spec *spec)
{
	const char *s;

	if (get_str(v, "runtime", &s) < 0)
		return -1;
	if (!strcmp(s, "box"))
		spec->runtime = APP_RT_BOX;
	else if (!strcmp(s, "plain"))
		spec->runtime = APP_RT_PLAIN;
	else
		return err_set("'runtime' must be \"box\" or \"plain\"");
	return 0;
}

/* A share of one CPU in percent (a number, 0.1 .. 10000) as thousandths. */
static int get_cpu_share(const json_t *v, const char *field, uint32_t *out)
{
	double pct;

	if (!json_is_number(v))
		return err_set("'%s' must be a number (percent of one CPU)", field);
	pct = json_number_value(v);
	if (!(pct >= 0.1 && pct <= APP_IDLE_CPU_MAX / 10.0))
		return err_set("'%s' must be in 0.1..%d (percent of one CPU)", field,
			       APP_IDLE_CPU_MAX / 10);
	*out = (uint32_t)(pct * 10 + 0.5);
	return 0;
}

static int get_u64(const json_t *v, const char *field, uint64_t min, uint64_t max, uint64_t *out)
{
	json_int_t n;

	if (!json_is_integer(v))
		return err_set("'%s' must be an integer", field);
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return err_set("'%s' must be in %llu..%llu", field, (unsigned long long)min,
			       (unsigned long long)max);
	*out = (uint64_t)n;
	return 0;
}

/* The box's fields (checked against the runtime once all are read). */
static int get_box_field(const char *key, const json_t *v, struct app_spec *spec)
{
	uint64_t n;

	if (!strcmp(key, "runtime"))
		return get_runtime(v, spec);
	if (!strcmp(key, "rootfs"))
		return get_copy(v, key, &spec->rootfs);
	if (!strcmp(key, "user"))
		return get_copy(v, key, &spec->user);
	if (!strcmp(key, "publish"))
		return spec->publish ? err_set("'publish' given twice")
				     : get_strings(v, key, APP_MAX_PORTS, 0, &spec->publish,
						   &spec->npublish);
	if (!strcmp(key, "memory"))
		return get_u64(v, key, 4ull << 20, 1ull << 50, &spec->memory);
	if (!strcmp(key, "pids")) {
		if (get_u64(v, key, 1, APP_PIDS_MAX, &n) < 0)
			return -1;
		spec->pids = (uint32_t)n;
		return 0;
	}
	if (!strcmp(key, "no_egress") || !strcmp(key, "init")) {
		if (!json_is_boolean(v))
			return err_set("'%s' must be true or false", key);
		*(key[0] == 'n' ? &spec->no_egress : &spec->init) = json_is_true(v);
		return 0;
	}
	return 1;
}

static int get_field(const char *key, const json_t *v, struct app_spec *spec)
{
	const char *s;
	int rc;

	if (!strcmp(key, "name")) {
		if (get_str(v, key, &s) < 0 || spec_check_name(s) < 0)
			return -1;
		strcpy(spec->name, s);
		return 0;
	}
	if (!strcmp(key, "argv"))
		return spec->argv ? err_set("'argv' given twice")
				  : get_strings(v, key, APP_MAX_ARGS, 1, &spec->argv, &spec->argc);
	if (!strcmp(key, "env"))
		return spec->env ? err_set("'env' given twice")
				 : get_strings(v, key, APP_MAX_ENV, 0, &spec->env, &spec->nenv);
	if (!strcmp(key, "workdir")) {
		if (get_str(v, key, &s) < 0)
			return -1;
		if (s[0] != '/')
			return err_set("'workdir' must be an absolute path");
		free(spec->workdir);
		spec->workdir = strdup(s);
		return spec->workdir ? 0 : err_set("out of memory");
	}
	if (!strcmp(key, "ports"))
		return get_ports(v, spec);
	if (!strcmp(key, "idle_ms"))
		return get_ms(v, key, 100, &spec->idle_ms);
	if (!strcmp(key, "idle_cpu"))
		return get_cpu_share(v, key, &spec->idle_cpu);
	if (!strcmp(key, "sleep_ms")) {
		spec->sleep_set = 1;
		return get_ms(v, key, 0, &spec->sleep_ms);
	}
	rc = get_box_field(key, v, spec);
	return rc <= 0 ? rc : err_set("unknown field '%.64s'", key);
}

int spec_from_json(const json_t *o, struct app_spec *spec)
{
	const char *key;
	json_t *v;

	memset(spec, 0, sizeof(*spec));
	spec->idle_ms = APP_IDLE_DEFAULT_MS;
	spec->idle_cpu = APP_IDLE_CPU_DEFAULT;
	spec->sleep_ms = APP_SLEEP_DEFAULT_MS;
	spec->init = 1;
	if (!json_is_object(o))
		return err_set("the app must be a JSON object");
	json_object_foreach((json_t *)o, key, v) {
		if (get_field(key, v, spec) < 0) {
			spec_free(spec);
			return -1;
		}
	}
	if (!spec->name[0] || !spec->argv) {
		spec_free(spec);
		return err_set(!spec->name[0] ? "'name' is missing" : "'argv' (the command) is missing");
	}
	if (check_env(spec) < 0 || check_runtime(spec) < 0) {
		spec_free(spec);
		return -1;
	}
	return 0;
}

static json_t *strings_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* The runtime and the box's fields into o. */
static int spec_box_json(const struct app_spec *spec, json_t *o)
{
	int rc = json_object_set_new(o, "runtime",
				     json_string(spec->runtime == APP_RT_BOX ? "box" : "plain"));

	rc |= json_object_set_new(o, "init", json_boolean(spec->init));
	if (rc == 0 && spec->user)
		rc = json_object_set_new(o, "user", json_string(spec->user));
	if (rc < 0 || spec->runtime != APP_RT_BOX)
		return rc;
	if (spec->rootfs)
		rc |= json_object_set_new(o, "rootfs", json_string(spec->rootfs));
	rc |= json_object_set_new(o, "publish", strings_json(spec->publish, spec->npublish));
	if (spec->memory)
		rc |= json_object_set_new(o, "memory", json_integer((json_int_t)spec->memory));
	if (spec->pids)
		rc |= json_object_set_new(o, "pids", json_integer(spec->pids));
	if (spec->no_egress)
		rc |= json_object_set_new(o, "no_egress", json_true());
	return rc;
}

json_t *spec_to_json(const struct app_spec *spec)
{
	json_t *ports = json_array();
	json_t *o;

	for (size_t i = 0; ports && i < spec->nports; i++)
		json_array_append_new(ports, json_integer(spec->ports[i]));
	o = json_pack("{s:s, s:o, s:o, s:o, s:I, s:I}", "name", spec->name,
		      "argv", strings_json(spec->argv, spec->argc),
		      "env", strings_json(spec->env, spec->nenv), "ports", ports,
		      "idle_ms", (json_int_t)spec->idle_ms, "sleep_ms", (json_int_t)spec->sleep_ms);
	if (o && spec->idle_cpu != APP_IDLE_CPU_DEFAULT &&
	    json_object_set_new(o, "idle_cpu", json_real(spec->idle_cpu / 10.0)) < 0) {
		json_decref(o);
		return NULL;
	}
	if (o && spec->workdir && json_object_set_new(o, "workdir", json_string(spec->workdir)) < 0) {
		json_decref(o);
		return NULL;
	}
	if (o && spec_box_json(spec, o) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

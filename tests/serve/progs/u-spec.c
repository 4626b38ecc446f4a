/*
 * u-spec.c - unit test of the app spec rules (src/worker/spec.c) and the
 * API's create parser (src/api/request.c): durations, names, a full
 * request decoded field by field, and the spec's JSON round trip.
 */
#include <stdio.h>
#include <string.h>

#include "api/request.h"
#include "common/err.h"
#include "worker/spec.h"

static int failures;

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		printf("FAIL %s:%d: ", __FILE__, __LINE__); \
		printf(__VA_ARGS__); \
		printf("\n"); \
		failures++; \
	} \
} while (0)

static void durations(void)
{
	static const struct { const char *s; long long ms; } good[] = {
		{ "500ms", 500 }, { "2s", 2000 }, { "1.5m", 90000 }, { "1h", 3600000 },
		{ "30", 30000 }, { "0", 0 }, { "0.1s", 100 }, { "720h", 2592000000LL },
	};
	static const char *const bad[] = {
		"", "s", "-1s", "+1s", " 1s", "1 s", "1d", "1sec", "nan", "inf", "1e400s",
		"721h", "1s2",
	};
	int64_t ms;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int rc = parse_duration_ms(good[i].s, &ms);

		CHECK(rc == 0 && ms == good[i].ms, "duration '%s': rc %d, %lld ms", good[i].s, rc,
		      (long long)ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(parse_duration_ms(bad[i], &ms) < 0 && err_msg()[0], "duration '%s' accepted", bad[i]);
}

static void names(void)
{
	static const char *const good[] = { "a", "web-1", "A.b_c", "0" };
	static const char *const bad[] = { "", ".x", "-x", "a/b", "a b", "é",
		"0123456789012345678901234567890123456789012345678901234567890123" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(spec_check_name(good[i]) == 0, "name '%s' refused: %s", good[i], err_msg());
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(spec_check_name(bad[i]) < 0, "name '%s' accepted", bad[i]);
}

static void full_request(void)
{
	const char *body = "{\"name\":\"web\",\"runtime\":\"plain\",\"argv\":[\"lighttpd\",\"-D\"],\"ports\":[8080,53],"
			   "\"env\":[\"A=1\",\"B=x=y\"],\"workdir\":\"/srv\",\"idle_ms\":2000,"
			   "\"sleep_ms\":0}";
	struct app_spec s, back;
	json_t *o;

	if (api_parse_create(body, strlen(body), &s) < 0) {
		CHECK(0, "full request refused: %s", err_msg());
		return;
	}
	CHECK(!strcmp(s.name, "web"), "name %s", s.name);
	CHECK(s.argc == 2 && !strcmp(s.argv[1], "-D") && !s.argv[2], "argv");
	CHECK(s.nports == 2 && s.ports[0] == 8080 && s.ports[1] == 53, "ports");
	CHECK(s.runtime == APP_RT_PLAIN, "runtime");
	CHECK(s.nenv == 2 && !strcmp(s.env[1], "B=x=y"), "env");
	CHECK(s.workdir && !strcmp(s.workdir, "/srv"), "workdir");
	CHECK(s.idle_ms == 2000 && s.sleep_ms == 0, "durations %lld %lld", (long long)s.idle_ms,
	      (long long)s.sleep_ms);
	o = spec_to_json(&s);
	CHECK(o && spec_from_json(o, &back) == 0, "round trip: %s", err_msg());
	if (o) {
		CHECK(!strcmp(back.name, s.name) && back.argc == s.argc && back.nports == s.nports &&
		      back.nenv == s.nenv && !strcmp(back.workdir, s.workdir) &&
		      back.idle_ms == s.idle_ms && back.sleep_ms == s.sleep_ms, "round trip differs");
		spec_free(&back);
		json_decref(o);
	}
	spec_free(&s);

	body = "{\"name\":\"m\",\"argv\":[\"x\"]}";
	CHECK(api_parse_create(body, strlen(body), &s) == 0, "minimal refused: %s", err_msg());
	CHECK(s.idle_ms == APP_IDLE_DEFAULT_MS && s.sleep_ms == APP_SLEEP_DEFAULT_MS &&
	      !s.workdir && !s.nports && !s.nenv, "defaults");
	spec_free(&s);
	body = "{\"name\":\"m\",\"runtime\":\"plain\",\"argv\":[\"x\"],\"ports\":[5,5]}";
	CHECK(api_parse_create(body, strlen(body), &s) < 0, "a port given twice accepted");
	body = "{\"name\":\"m\",\"argv\":[\"x\"],\"workdir\":\"rel\"}";
	CHECK(api_parse_create(body, strlen(body), &s) < 0, "a relative workdir accepted");
	body = "{\"name\":\"m\",\"argv\":[\"x\\u0000y\"]}";
	CHECK(api_parse_create(body, strlen(body), &s) < 0, "a NUL in argv accepted");
}

/* The box's fields: the default runtime, checked as the box will. */
static void box_request(void)
{
	static const char *const bad[] = {
		"{\"name\":\"m\",\"argv\":[\"x\"],\"ports\":[80]}",
		"{\"name\":\"Web\",\"argv\":[\"x\"]}",
		"{\"name\":\"m\",\"argv\":[\"x\"],\"publish\":[\"80\"]}",
		"{\"name\":\"m\",\"argv\":[\"x\"],\"publish\":[\"8080:80\",\"8080:81\"]}",
		"{\"name\":\"m\",\"argv\":[\"x\"],\"publish\":[\"70000:80\"]}",
		"{\"name\":\"m\",\"argv\":[\"x\"],\"memory\":1024}",
		"{\"name\":\"m\",\"argv\":[\"x\"],\"pids\":0}",
		"{\"name\":\"m\",\"argv\":[\"x\"],\"rootfs\":\"rel/dir\"}",
		"{\"name\":\"m\",\"argv\":[\"x\"],\"user\":\"www-data\"}",
		"{\"name\":\"m\",\"argv\":[\"x\"],\"no_egress\":1}",
		"{\"name\":\"m\",\"argv\":[\"x\"],\"runtime\":\"vm\"}",
		"{\"name\":\"m\",\"argv\":[\"x\"],\"runtime\":\"plain\",\"rootfs\":\"host\"}",
	};
	const char *body = "{\"name\":\"web-1\",\"argv\":[\"x\"],\"rootfs\":\"oci:/img:v1\","
			   "\"publish\":[\"127.0.0.1:8080:80\",\"53:53/udp\"],\"memory\":67108864,"
			   "\"pids\":64,\"user\":\"33:33\",\"no_egress\":true}";
	struct app_spec s, back;
	uint16_t host[APP_MAX_PORTS], app[APP_MAX_PORTS];
	json_t *o;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(api_parse_create(bad[i], strlen(bad[i]), &s) < 0, "accepted: %s", bad[i]);
	if (api_parse_create(body, strlen(body), &s) < 0) {
		CHECK(0, "box request refused: %s", err_msg());
		return;
	}
	CHECK(s.runtime == APP_RT_BOX && s.npublish == 2 && s.memory == 64 << 20 && s.pids == 64 &&
	      s.no_egress && !strcmp(s.user, "33:33") && !strcmp(s.rootfs, "oci:/img:v1"), "box fields");
	CHECK(spec_port_pairs(&s, host, app) == 2 && host[0] == 8080 && app[0] == 80 &&
	      host[1] == 53 && app[1] == 53, "port pairs");
	o = spec_to_json(&s);
	CHECK(o && spec_from_json(o, &back) == 0, "box round trip: %s", err_msg());
	if (o) {
		CHECK(back.npublish == 2 && !strcmp(back.publish[1], "53:53/udp") &&
		      back.memory == s.memory && back.no_egress, "box round trip differs");
		spec_free(&back);
		json_decref(o);
	}
	spec_free(&s);
}

int main(void)
{
	durations();
	names();
	full_request();
	box_request();
	if (failures) {
		printf("%d failures\n", failures);
		return 1;
	}
	printf("u-spec: all checks passed\n");
	return 0;
}

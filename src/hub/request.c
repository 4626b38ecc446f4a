/* request.c - the hub's request bodies and names (see request.h). */
#include <arpa/inet.h>
#include <jansson.h>
#include <string.h>

#include "api/request.h"
#include "common/err.h"
#include "hub/request.h"

#define MEM_MAX (1LL << 50)   /* a petabyte: anything larger is a mistake */

int hub_check_name(const char *what, const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > HUB_NAME_MAX)
		return err_set("%s name must have 1 to %d characters", what, HUB_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return err_set("%s name '%.63s' may only have lowercase letters, digits "
				       "and '-' (it is a DNS label)", what, name);
	}
	if (name[0] == '-' || name[n - 1] == '-')
		return err_set("%s name '%s' must not start or end with '-'", what, name);
	return 0;
}

static int get_bytes(const json_t *o, const char *key, int64_t *out)
{
	const json_t *v = json_object_get(o, key);

	if (!v)
		return err_set("'%s' is missing", key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > MEM_MAX)
		return err_set("'%s' must be an integer from 0 to 2^50", key);
	*out = json_integer_value(v);
	return 0;
}

/* A textual IPv4 or IPv6 address, kept in its canonical form. */
static int get_address(const json_t *o, char *out)
{
	const json_t *v = json_object_get(o, "address");
	unsigned char bin[sizeof(struct in6_addr)];
	const char *s;
	int af;

	if (!json_is_string(v))
		return err_set("'address' must be a string (an IPv4 or IPv6 address)");
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v) || json_string_length(v) >= HUB_ADDR_MAX)
		return err_set("'address' is not an IP address");
	af = strchr(s, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(af, s, bin) != 1 || !inet_ntop(af, bin, out, HUB_ADDR_MAX))
		return err_set("'address' %s is not an IP address", s);
	return 0;
}

static int check_fields(const json_t *o)
{
	static const char *const known[] = { "address", "mem_total_bytes", "mem_free_bytes" };
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)o, key, v) {
		size_t i = 0;

		while (i < sizeof(known) / sizeof(known[0]) && strcmp(key, known[i]))
			i++;
		if (i == sizeof(known) / sizeof(known[0]))
			return err_set("unknown field '%.64s'", key);
	}
	return 0;
}

int hub_parse_worker(const char *name, const char *body, size_t len, struct worker_report *w)
{
	json_t *o;
	int rc;

	memset(w, 0, sizeof(*w));
	if (hub_check_name("worker", name) < 0)
		return -1;
	strcpy(w->name, name);
	o = api_parse_json(body, len);
	if (!o)
		return -1;
	if (!json_is_object(o))
		rc = err_set("the body must be a JSON object");
	else
		rc = check_fields(o) < 0 || get_address(o, w->address) < 0 ||
			     get_bytes(o, "mem_total_bytes", &w->mem_total) < 0 ||
			     get_bytes(o, "mem_free_bytes", &w->mem_free) < 0
			     ? -1
			     : 0;
	if (rc == 0 && w->mem_free > w->mem_total)
		rc = err_set("'mem_free_bytes' is larger than 'mem_total_bytes'");
	json_decref(o);
	return rc;
}

int hub_parse_move(const char *body, size_t len, char *to)
{
	json_t *o = api_parse_json(body, len);
	const json_t *v = json_object_get(o, "to");
	int rc = 0;

	if (!o)
		return -1;
	if (!json_is_object(o) || json_object_size(o) != 1 || !json_is_string(v))
		rc = err_set("the body must be {\"to\": WORKER}");
	else if (json_string_length(v) > HUB_NAME_MAX ||
		 strlen(json_string_value(v)) != json_string_length(v))
		rc = err_set("'to' is not a worker name");
	else if (hub_check_name("worker", json_string_value(v)) == 0)
		strcpy(to, json_string_value(v));
	else
		rc = -1;
	json_decref(o);
	return rc;
}

/* request.c - the hub's request bodies and names (see request.h). */
#include <arpa/inet.h>
#include <jansson.h>
#include <string.h>

#include "api/request.h"
#include "common/err.h"
#include "hub/request.h"

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
	    json_integer_value(v) > HUB_MEM_MAX)
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
	static const char *const known[] = { "address", "mem_total_bytes", "mem_free_bytes",
					     "mem_low_bytes", "cached" };
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

/* "cached": absent, or a list of app names (HUB_CACHED_MAX at most). */
static int get_cached(const json_t *o, struct worker_report *w)
{
	const json_t *list = json_object_get(o, "cached"), *v;
	size_t i;

	if (!list)
		return 0;
	if (!json_is_array(list) || json_array_size(list) > HUB_CACHED_MAX)
		return err_set("'cached' must be a list of at most %d app names", HUB_CACHED_MAX);
	w->has_cached = 1;
	json_array_foreach(list, i, v) {
		const char *s = json_string_value(v);

		if (!s || strlen(s) != json_string_length(v) || strlen(s) > HUB_NAME_MAX ||
		    hub_check_name("app", s) < 0)
			return err_set("'cached' must be a list of app names");
		strcpy(w->cached[w->ncached++], s);
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
			     get_bytes(o, "mem_free_bytes", &w->mem_free) < 0 ||
			     (json_object_get(o, "mem_low_bytes") &&
			      get_bytes(o, "mem_low_bytes", &w->mem_low) < 0) ||
			     get_cached(o, w) < 0
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

/* The states a worker may report (the daemon's, docs/serve.md). */
static int known_state(const char *s)
{
	static const char *const states[] = { "running", "swapping-out", "napping", "asleep",
					       "swapping-in", "failed" };

	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (!strcmp(s, states[i]))
			return 1;
	return 0;
}

/* An IPv4 address (normalised into text, INET_ADDRSTRLEN bytes, and/or
 * *bin in network order). */
static int get_ipv4(const json_t *v, char *text, uint32_t *bin)
{
	const char *s = json_string_value(v);
	struct in_addr in;

	if (!s || strlen(s) != json_string_length(v) || json_string_length(v) >= INET_ADDRSTRLEN ||
	    inet_pton(AF_INET, s, &in) != 1)
		return err_set("not an IPv4 address");
	if (text)
		inet_ntop(AF_INET, &in, text, INET_ADDRSTRLEN);
	if (bin)
		*bin = in.s_addr;
	return 0;
}

/* "move_failed": text without control characters, 1-HUB_MOVE_ERR_MAX bytes. */
static int move_failed_field(const json_t *v, struct run_report *r)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);

	if (!s || strlen(s) != n || n == 0 || n > HUB_MOVE_ERR_MAX)
		return err_set("'move_failed' must be a text of 1-%d bytes", HUB_MOVE_ERR_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return err_set("'move_failed' has a control character");
	memcpy(r->move_failed, s, n + 1);
	return 0;
}

static int run_fields(const json_t *o, struct run_report *r)
{
	const json_t *held = json_object_get(o, "held"), *st = json_object_get(o, "state"),
		     *img = json_object_get(o, "image_ms"), *mf = json_object_get(o, "move_failed"),
		     *ba = json_object_get(o, "box_addr"), *td = json_object_get(o, "timer_due_ms");
	size_t want = 2 + (st != NULL) + (mf != NULL) + (ba != NULL) + (td != NULL);

	if (json_object_size(o) != want || !json_is_boolean(held))
		return err_set("the body must be {\"held\": BOOL, \"state\": STATE, \"image_ms\": MS"
			       "[, \"move_failed\": WHY]} (no state when held is false)");
	if (mf && (!json_is_true(held) || move_failed_field(mf, r) < 0))
		return json_is_true(held) ? -1 : err_set("a let-go app has no 'move_failed'");
	if (ba && (!json_is_true(held) || get_ipv4(ba, r->box_addr, NULL) < 0))
		return err_set("'box_addr' must be an IPv4 address, on a held app");
	if (!json_is_integer(img) || json_integer_value(img) < 0)
		return err_set("'image_ms' must be an integer >= 0");
	if (td && (!json_is_integer(td) || json_integer_value(td) < 0))
		return err_set("'timer_due_ms' must be an integer >= 0");
	r->held = json_is_true(held);
	r->image_ms = json_integer_value(img);
	r->timer_due_ms = td ? json_integer_value(td) : 0;
	if (!r->held) {
		if (st)
			return err_set("a let-go app has no 'state'");
		strcpy(r->state, "stored");
		return 0;
	}
	if (!json_is_string(st) || strlen(json_string_value(st)) != json_string_length(st) ||
	    !known_state(json_string_value(st)))
		return err_set("'state' must be running, swapping-out, napping, asleep, "
			       "swapping-in or failed");
	strcpy(r->state, json_string_value(st));
	return 0;
}

int hub_parse_run(const char *app, const char *body, size_t len, struct run_report *r)
{
	json_t *o;
	int rc;

	memset(r, 0, sizeof(*r));
	if (hub_check_name("app", app) < 0)
		return -1;
	strcpy(r->app, app);
	o = api_parse_json(body, len);
	if (!o)
		return -1;
	rc = json_is_object(o) ? run_fields(o, r) : err_set("the body must be a JSON object");
	json_decref(o);
	return rc;
}

/* A name field: a DNS label, or "" when empty is allowed. */
static int get_name(const json_t *o, const char *key, int empty_ok, char *out)
{
	const json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);

	if (!s && empty_ok && (!v || json_is_null(v))) {
		out[0] = '\0';
		return 0;
	}
	if (!s || strlen(s) != json_string_length(v) || json_string_length(v) > HUB_NAME_MAX)
		return err_set("'%s' is not a name", key);
	if (!*s && empty_ok) {
		out[0] = '\0';
		return 0;
	}
	if (hub_check_name(key, s) < 0)
		return -1;
	strcpy(out, s);
	return 0;
}

static int get_ms(const json_t *o, const char *key, int64_t *out)
{
	const json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v)) {
		*out = 0;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return err_set("'%s' must be an integer >= 0", key);
	*out = json_integer_value(v);
	return 0;
}

int hub_ask_op_known(const char *op)
{
	return !strcmp(op, "swap-out") || !strcmp(op, "swap-in") || !strcmp(op, "logs");
}

int hub_check_ask_id(const char *id)
{
	if (strlen(id) != HUB_ASK_ID_LEN || strspn(id, "0123456789abcdef") != HUB_ASK_ID_LEN)
		return err_set("a request id is %d hex digits", HUB_ASK_ID_LEN);
	return 0;
}

int hub_parse_ask_answer(const char *body, size_t len, int *status, char **answer)
{
	json_t *o = api_parse_json(body, len), *st, *an;
	int rc = 0;

	*answer = NULL;
	if (!o)
		return -1;
	st = json_object_get(o, "status");
	an = json_object_get(o, "answer");
	if (!json_is_object(o) || json_object_size(o) != 2 || !json_is_integer(st) ||
	    !json_is_string(an))
		rc = err_set("the body must be {\"status\": HTTP_STATUS, \"answer\": TEXT}");
	else if (json_integer_value(st) < 100 || json_integer_value(st) > 599)
		rc = err_set("'status' must be an HTTP status (100-599)");
	else if (json_string_length(an) > HUB_ASK_ANSWER_MAX ||
		 strlen(json_string_value(an)) != json_string_length(an))
		rc = err_set("'answer' must be a text of at most %d bytes", HUB_ASK_ANSWER_MAX);
	else if (!(*answer = strdup(json_string_value(an))))
		rc = err_set("out of memory");
	if (rc == 0)
		*status = (int)json_integer_value(st);
	json_decref(o);
	return rc;
}

/* "asks": absent, or [{"id", "op"}]; the first HUB_ASKS_MAX are kept. */
static int get_asks(const json_t *asks, struct placed_app *p)
{
	size_t i;
	const json_t *a;

	if (!asks)
		return 0;
	if (!json_is_array(asks))
		return err_set("'asks' is not a list");
	json_array_foreach(asks, i, a) {
		const char *id = json_string_value(json_object_get(a, "id"));
		const char *op = json_string_value(json_object_get(a, "op"));

		if (!json_is_object(a) || json_object_size(a) != 2 || !id || !op ||
		    hub_check_ask_id(id) < 0 || !hub_ask_op_known(op))
			return err_set("a request of 'asks' is not {\"id\": ID, \"op\": swap-out, "
				       "swap-in or logs}");
		if (p->nasks == HUB_ASKS_MAX)
			continue;
		strcpy(p->asks[p->nasks].id, id);
		strcpy(p->asks[p->nasks].op, op);
		p->nasks++;
	}
	return 0;
}

int hub_parse_placed(const json_t *entry, struct placed_app *p)
{
	static const char *const hubs[] = { "tenant", "worker", "address", "state", "image",
					     "created", "worker_state", "holder", "holder_state",
					     "image_ms", "recovered", "wake_ms", "move_failed",
					     "move_failed_at", "asks", "box_addr", "timer_due_ms" };
	const char *hs = json_string_value(json_object_get(entry, "holder_state")),
		   *st = json_string_value(json_object_get(entry, "state"));
	json_t *spec;
	int rc;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(entry))
		return err_set("an app of the hub's answer is not an object");
	if (get_name(entry, "worker", 0, p->worker) < 0 ||
	    get_name(entry, "holder", 1, p->holder) < 0 ||
	    get_ms(entry, "image_ms", &p->image_ms) < 0 || get_ms(entry, "wake_ms", &p->wake_ms) < 0 ||
	    get_ms(entry, "timer_due_ms", &p->timer_due_ms) < 0)
		return err_wrap("the hub's answer");
	p->holder_up = hs && !strcmp(hs, "up");
	p->asleep = st && !strcmp(st, "asleep");
	if (get_asks(json_object_get(entry, "asks"), p) < 0)
		return err_wrap("the hub's answer");
	if (json_is_string(json_object_get(entry, "box_addr")) &&
	    get_ipv4(json_object_get(entry, "box_addr"), NULL, &p->box_addr) < 0)
		return err_wrap("the hub's answer: 'box_addr'");
	spec = json_deep_copy(entry);
	if (!spec)
		return err_set("out of memory");
	for (size_t i = 0; i < sizeof(hubs) / sizeof(hubs[0]); i++)
		json_object_del(spec, hubs[i]);
	rc = spec_from_json(spec, &p->spec);
	json_decref(spec);
	if (rc == 0 && hub_check_name("app", p->spec.name) < 0) {
		spec_free(&p->spec);
		rc = -1;
	}
	return rc < 0 ? err_wrap("the hub's answer: an app") : 0;
}

/* app.c - an app's states and its registry and API forms (see app.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "worker/app.h"

static const char *const state_names[APP_NR_STATES] = {
	[APP_CREATING] = "creating",       [APP_RUNNING] = "running",
	[APP_SWAPPING_OUT] = "swapping-out", [APP_NAPPING] = "napping",
	[APP_ASLEEP] = "asleep",           [APP_SWAPPING_IN] = "swapping-in",
	[APP_FAILED] = "failed",
};

const char *app_state_name(enum app_state s)
{
	return s < APP_NR_STATES ? state_names[s] : "unknown";
}

int app_state_parse(const char *s, enum app_state *out)
{
	for (int i = 0; i < APP_NR_STATES; i++)
		if (!strcmp(s, state_names[i])) {
			*out = (enum app_state)i;
			return 0;
		}
	return err_set("unknown app state '%.32s'", s);
}

static json_t *event_json(const struct swap_event *e)
{
	if (e->ms < 0)
		return json_null();
	return json_pack("{s:I, s:I, s:s}", "ms", (json_int_t)e->ms, "at", (json_int_t)e->at_ms,
			 "trigger", e->trigger);
}

static void event_from(const json_t *o, struct swap_event *e)
{
	const char *trigger = "";

	e->ms = -1;
	e->at_ms = 0;
	e->trigger[0] = '\0';
	if (!json_is_object(o))
		return;
	json_int_t ms = json_integer_value(json_object_get(o, "ms"));
	json_int_t at = json_integer_value(json_object_get(o, "at"));
	if (json_is_string(json_object_get(o, "trigger")))
		trigger = json_string_value(json_object_get(o, "trigger"));
	e->ms = ms;
	e->at_ms = at;
	snprintf(e->trigger, sizeof(e->trigger), "%s", trigger);
}

json_t *app_to_row(const struct app *a)
{
	json_t *row = json_pack("{s:o, s:s, s:i, s:I, s:i, s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:s}",
			 "spec", spec_to_json(&a->spec), "state", app_state_name(a->state),
			 "pid", (int)a->pid, "pid_start", (json_int_t)a->pid_start,
			 "op_pid", (int)a->op_pid,
			 "tag", a->tag, "timer_due_ms", (json_int_t)a->timer_due_ms,
			 "dump_started_ms", (json_int_t)a->dump_started_ms,
			 "image_bytes", (json_int_t)a->image_bytes, "swaps", (json_int_t)a->swaps,
			 "last_swap_out", event_json(&a->last_out),
			 "last_swap_in", event_json(&a->last_in), "error", a->error);

	if (row && a->sleep_addr)
		json_object_set_new(row, "sleep_addr", json_integer(a->sleep_addr));
	if (row && a->generation)
		json_object_set_new(row, "generation", json_integer((json_int_t)a->generation));
	return row;
}

static int row_string(const json_t *row, const char *key, char *buf, size_t len)
{
	const json_t *v = json_object_get(row, key);

	if (!json_is_string(v) || json_string_length(v) >= len)
		return err_set("registry row: bad '%s'", key);
	memcpy(buf, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

int app_from_row(const json_t *row, struct app *a)
{
	char state[32];

	memset(a, 0, sizeof(*a));
	a->pidfd = -1;
	if (!json_is_object(row))
		return err_set("registry row is not an object");
	if (spec_from_json(json_object_get(row, "spec"), &a->spec) < 0)
		return err_wrap("registry row");
	if (row_string(row, "state", state, sizeof(state)) < 0 ||
	    app_state_parse(state, &a->state) < 0 ||
	    row_string(row, "tag", a->tag, sizeof(a->tag)) < 0 ||
	    row_string(row, "error", a->error, sizeof(a->error)) < 0) {
		spec_free(&a->spec);
		return -1;
	}
	a->pid = (pid_t)json_integer_value(json_object_get(row, "pid"));
	a->pid_start = (uint64_t)json_integer_value(json_object_get(row, "pid_start"));
	a->op_pid = (pid_t)json_integer_value(json_object_get(row, "op_pid"));
	a->timer_due_ms = json_integer_value(json_object_get(row, "timer_due_ms"));
	a->dump_started_ms = json_integer_value(json_object_get(row, "dump_started_ms"));
	a->image_bytes = (uint64_t)json_integer_value(json_object_get(row, "image_bytes"));
	a->swaps = (uint64_t)json_integer_value(json_object_get(row, "swaps"));
	a->sleep_addr = (uint32_t)json_integer_value(json_object_get(row, "sleep_addr"));
	a->generation = (uint64_t)json_integer_value(json_object_get(row, "generation"));
	event_from(json_object_get(row, "last_swap_out"), &a->last_out);
	event_from(json_object_get(row, "last_swap_in"), &a->last_in);
	return 0;
}

/* Its ports: a plain app's port numbers, a boxed app's published specs. */
static json_t *ports_view(const struct app *a)
{
	json_t *ports = json_array();

	for (size_t i = 0; ports && i < a->spec.nports; i++)
		json_array_append_new(ports, json_integer(a->spec.ports[i]));
	for (size_t i = 0; ports && i < a->spec.npublish; i++)
		json_array_append_new(ports, json_string(a->spec.publish[i]));
	return ports;
}

/* Where the app listens: its box's address, or the host's loopback. */
static void address_view(const struct app *a, char *buf, size_t len)
{
	struct in_addr in = { .s_addr = a->addr };

	if (a->spec.runtime != APP_RT_BOX)
		snprintf(buf, len, "127.0.0.1");
	else if (!a->addr || !inet_ntop(AF_INET, &in, buf, (socklen_t)len))
		snprintf(buf, len, "-");
}

json_t *app_to_view(const struct app *a)
{
	char addr[INET_ADDRSTRLEN];
	json_t *o;

	address_view(a, addr, sizeof(addr));
	o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:o, s:o, s:I, s:I, s:o}",
		      "name", a->spec.name, "state", app_state_name(a->state),
		      "runtime", a->spec.runtime == APP_RT_BOX ? "box" : "plain",
		      "address", addr, "ports", ports_view(a),
		      "rss_bytes", (json_int_t)(a->state == APP_RUNNING ? a->rss_bytes : 0),
		      "image_bytes", (json_int_t)a->image_bytes, "swaps", (json_int_t)a->swaps,
		      "last_swap_out", event_json(&a->last_out),
		      "last_swap_in", event_json(&a->last_in),
		      "idle_ms", (json_int_t)a->spec.idle_ms, "sleep_ms", (json_int_t)a->spec.sleep_ms,
		      "argv", json_array());
	if (!o || json_object_set_new(o, "init", json_boolean(a->spec.init)) < 0 ||
	    json_object_set_new(o, "idle_cpu", json_real(a->spec.idle_cpu / 10.0)) < 0) {
		json_decref(o);
		return NULL;
	}
	for (size_t i = 0; i < a->spec.argc; i++)
		json_array_append_new(json_object_get(o, "argv"), json_string(a->spec.argv[i]));
	if (a->state == APP_RUNNING)
		json_object_set_new(o, "pid", json_integer(a->pid));
	if (a->timer_due_ms >= 0 && (a->state == APP_NAPPING || a->state == APP_ASLEEP))
		json_object_set_new(o, "timer_due", json_integer(a->timer_due_ms));
	if (a->error[0])
		json_object_set_new(o, "error", json_string(a->error));
	if (a->swaps && a->dump_started_ms > 0)    /* its newest image's time */
		json_object_set_new(o, "image_at", json_integer(a->dump_started_ms));
	if (a->last_in.ms >= 0 && json_is_object(json_object_get(o, "last_swap_in")))
		json_object_update_new(json_object_get(o, "last_swap_in"),
				       json_pack("{s:I, s:I, s:I, s:I}",
						 "bytes_store", (json_int_t)a->last_in_mem.bytes_store,
						 "bytes_cache", (json_int_t)a->last_in_mem.bytes_cache,
						 "bytes_local", (json_int_t)a->last_in_mem.bytes_local,
						 "pages_prefetched",
						 (json_int_t)a->last_in_mem.pages_prefetched));
	return o;
}

void app_free(struct app *a)
{
	if (!a)
		return;
	if (a->pidfd >= 0)
		close(a->pidfd);
	custody_free(a->held, a->nr_held);
	spec_free(&a->spec);
	free(a);
}

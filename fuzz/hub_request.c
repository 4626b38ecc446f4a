/*
 * hub_request.c - libFuzzer target for the hub's request bodies
 * (src/hub/request.c) and the hub's answers a worker reads: the first
 * byte picks the parser (its top bit: a move's body; else 0x40: an app's
 * report; else 0x20: an app of the hub's sync answer, as a worker takes
 * it, its requests too; else 0x10: a worker's answer to a request; else a
 * worker's report) and a name from a small table; the rest is
 * the body.  Each either parses into something that keeps every rule (DNS
 * labels, an address inet_pton takes, free memory within total, known
 * states, times >= 0, a failed move's text only on a held app and within
 * its bound, cached images' apps as names) or fails with a message.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "hub/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const char *const names[] = { "w1", "Bad", "-x", "worker-2", "" };
	struct worker_report w;
	unsigned char bin[16];
	char to[HUB_NAME_MAX + 1];

	if (len == 0)
		return 0;
	if (!(data[0] & 0x80) && (data[0] & 0x40)) {
		struct run_report r;

		if (hub_parse_run(names[data[0] % 5], (const char *)data + 1, len - 1, &r) == 0)
			assert(hub_check_name("app", r.app) == 0 && r.image_ms >= 0 && r.state[0] &&
			       r.timer_due_ms >= 0 &&
			       (r.held || !strcmp(r.state, "stored")) &&
			       (r.held || !r.move_failed[0]) && (r.held || !r.box_addr[0]) &&
			       strlen(r.move_failed) <= HUB_MOVE_ERR_MAX);
		else
			assert(err_msg()[0] != '\0');
		return 0;
	}
	if (!(data[0] & 0x80) && (data[0] & 0x20)) {
		json_t *o = json_loadb((const char *)data + 1, len - 1, 0, NULL);
		struct placed_app p;

		if (o && hub_parse_placed(o, &p) == 0) {
			assert(hub_check_name("worker", p.worker) == 0);
			assert(!p.holder[0] || hub_check_name("worker", p.holder) == 0);
			assert(hub_check_name("app", p.spec.name) == 0 && p.image_ms >= 0 &&
			       p.wake_ms >= 0 && p.timer_due_ms >= 0 && p.nasks <= HUB_ASKS_MAX);
			for (size_t i = 0; i < p.nasks; i++)
				assert(hub_check_ask_id(p.asks[i].id) == 0 &&
				       hub_ask_op_known(p.asks[i].op));
			spec_free(&p.spec);
		} else if (o) {
			assert(err_msg()[0] != '\0');
		}
		json_decref(o);
		return 0;
	}
	if (!(data[0] & 0x80) && (data[0] & 0x10)) {
		char *answer = NULL;
		int status = 0;

		if (hub_parse_ask_answer((const char *)data + 1, len - 1, &status, &answer) == 0)
			assert(status >= 100 && status <= 599 && answer &&
			       strlen(answer) <= HUB_ASK_ANSWER_MAX);
		else
			assert(err_msg()[0] != '\0' && !answer);
		free(answer);
		return 0;
	}
	if (data[0] & 0x80) {
		if (hub_parse_move((const char *)data + 1, len - 1, to) == 0)
			assert(hub_check_name("worker", to) == 0);
		else
			assert(err_msg()[0] != '\0');
		return 0;
	}
	if (hub_parse_worker(names[data[0] % 5], (const char *)data + 1, len - 1, &w) == 0) {
		assert(hub_check_name("worker", w.name) == 0);
		assert(inet_pton(strchr(w.address, ':') ? AF_INET6 : AF_INET, w.address, bin) == 1);
		assert(w.mem_free >= 0 && w.mem_free <= w.mem_total && w.mem_low >= 0 &&
		       w.mem_low <= HUB_MEM_MAX);
		assert(w.ncached <= HUB_CACHED_MAX && (w.has_cached || !w.ncached));
		for (size_t i = 0; i < w.ncached; i++)
			assert(hub_check_name("app", w.cached[i]) == 0);
	} else {
		assert(err_msg()[0] != '\0');
	}
	return 0;
}

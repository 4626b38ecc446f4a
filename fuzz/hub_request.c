/*
 * hub_request.c - libFuzzer target for the hub's request bodies
 * (src/hub/request.c): the first byte picks the parser (its top bit: a
 * move's body, else a worker's report) and a worker name from a small
 * table; the rest is the body.  Each either parses into something that
 * keeps every rule (DNS labels, an address inet_pton takes, free memory
 * within total) or fails with a message.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <stdint.h>
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
		assert(w.mem_free >= 0 && w.mem_free <= w.mem_total);
	} else {
		assert(err_msg()[0] != '\0');
	}
	return 0;
}

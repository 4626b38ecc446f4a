/*
 * hub_request.c - libFuzzer target for the hub's worker reports
 * (src/hub/request.c): the first byte picks a worker name from a small
 * table, the rest is the body of PUT /workers/NAME; it either parses into
 * a report that keeps every rule (a DNS label, an address inet_pton takes,
 * free memory within total) or fails with a message.
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

	if (len == 0)
		return 0;
	if (hub_parse_worker(names[data[0] % 5], (const char *)data + 1, len - 1, &w) == 0) {
		assert(hub_check_name("worker", w.name) == 0);
		assert(inet_pton(strchr(w.address, ':') ? AF_INET6 : AF_INET, w.address, bin) == 1);
		assert(w.mem_free >= 0 && w.mem_free <= w.mem_total);
	} else {
		assert(err_msg()[0] != '\0');
	}
	return 0;
}

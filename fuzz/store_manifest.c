/*
 * store_manifest.c - libFuzzer target for the store manifest parser
 * (manifest_parse, src/store/manifest.c).
 *
 * Each input is parsed as it is (exercising the checksum line), then with
 * its checksum line replaced (or appended) by a correct one, so that
 * mutations reach the line parser instead of all dying at the checksum.  A rejected parse must leave
 * the manifest zeroed; an accepted one must format to a manifest that parses
 * again and formats to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "seal.h"

static void format_checked(const struct manifest *m, struct buf *out)
{
	if (manifest_format(m, out) < 0)
		abort();
}

/* format(parse(format(m))) == format(m) */
static void roundtrip(const struct manifest *m)
{
	struct buf a = { 0 }, b = { 0 };
	struct manifest again;

	format_checked(m, &a);
	if (manifest_parse(a.data, a.len, &again) < 0)
		abort();   /* what we write, we must read */
	format_checked(&again, &b);
	if (a.len != b.len || memcmp(a.data, b.data, a.len))
		abort();
	manifest_free(&again);
	buf_free(&a);
	buf_free(&b);
}

static void parse_once(const uint8_t *buf, size_t len)
{
	static const struct manifest zero;
	struct manifest m;

	memset(&m, 0x5a, sizeof(m));
	if (manifest_parse(buf, len, &m) == 0) {
		roundtrip(&m);
		manifest_free(&m);
		return;
	}
	if (memcmp(&m, &zero, sizeof(m)))
		abort();   /* a failed parse must leave *m zeroed */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf sealed = { 0 };

	parse_once(data, size);
	if (fuzz_seal(data, size, &sealed) == 0)
		parse_once(sealed.data, sealed.len);
	buf_free(&sealed);
	return 0;
}

/*
 * store_s3_xml.c - libFuzzer target for the S3 XML readers
 * (src/store/s3_xml.c): the ListObjectsV2 page parser, the text unescaper
 * and the error-body field reader.
 *
 * Every input goes through all three.  Keys handed to the listing callback
 * must be non-empty strings without the stripped prefix; a truncated page
 * must come with a token; a field must fit its buffer and hold no control
 * characters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/s3.h"

struct seen {
	size_t keys, stop_after;
};

static int on_key(const char *key, uint64_t size, int64_t mtime, void *arg)
{
	struct seen *s = arg;

	(void)size;
	(void)mtime;
	if (!*key || strlen(key) > 1 << 20)
		abort();
	return ++s->keys == s->stop_after ? 7 : 0;
}

static void list(const char *xml, size_t len, const char *strip, size_t stop)
{
	struct s3_list_page page;
	struct seen s = { 0, stop };
	int rc;

	memset(&page, 0x5a, sizeof(page));
	rc = s3_parse_list(xml, len, strip, on_key, &s, &page);
	if (rc == 7 && s.keys != stop)
		abort();
	if (rc == 0 && page.truncated && !page.next_token)
		abort();
	if (rc != 0 && page.next_token)
		abort();   /* a failed parse owns nothing */
	free(page.next_token);
}

static void field(const char *body, size_t len, const char *tag, size_t cap)
{
	char out[256];

	memset(out, 'x', sizeof(out));
	s3_xml_field(body, len, tag, out, cap);
	if (strlen(out) >= cap)
		abort();
	for (const char *p = out; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			abort();
}

static void unescape(const char *s, size_t len)
{
	char *t = s3_xml_unescape(s, len);

	if (t && strlen(t) > len)
		abort();   /* unescaping never grows the text */
	free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *xml = (const char *)data;

	list(xml, size, "", 0);
	list(xml, size, "images/", 2);
	field(xml, size, "Code", 16);
	field(xml, size, "Message", 256);
	unescape(xml, size);
	return 0;
}

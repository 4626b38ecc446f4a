/*
 * s3.h - the S3 backend beyond struct backend_ops: bucket creation (for
 * tests and first-time setup) and the XML parsers (unit-tested and fuzzed
 * alone).
 * backend_s3_open() itself is declared in backend.h.
 */
#ifndef PC_STORE_S3_H
#define PC_STORE_S3_H

#include <stddef.h>
#include <stdint.h>

#include "store/backend.h"

/* Create a bucket with the configured endpoint and credentials.  Returns 1
 * if it already exists and is ours. */
int s3_create_bucket(const char *bucket);

/* One parsed page of a ListObjectsV2 response. */
struct s3_list_page {
	int truncated;
	char *next_token;          /* malloc'd, NULL when none */
};
/* Parse xml[0..len): call cb(key, size, mtime, arg) for each <Contents>
 * entry whose key starts with strip (the key is passed without it).  A
 * nonzero cb return stops the parse and is returned. */
int s3_parse_list(const char *xml, size_t len, const char *strip,
		  backend_list_cb cb, void *arg, struct s3_list_page *page);

/* Decode XML character references and the five entities of n bytes at s.
 * Returns a malloc'd string or NULL (err set). */
char *s3_xml_unescape(const char *s, size_t n);

/* The raw text of the first <tag>...</tag> in body[0..len) (an error
 * response), cut to cap - 1 bytes, control characters made spaces; ""
 * when absent. */
void s3_xml_field(const char *body, size_t len, const char *tag, char *out,
		  size_t cap);

#endif

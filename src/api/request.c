/* request.c - parse and validate API request bodies (see request.h). */
#include <jansson.h>

#include "api/request.h"
#include "common/err.h"

json_t *api_parse_json(const char *body, size_t len)
{
	json_error_t jerr;
	json_t *o;

	if (len > API_BODY_MAX) {
		err_set("request body larger than %d bytes", API_BODY_MAX);
		return NULL;
	}
	o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		err_set("malformed JSON: %s (line %d, column %d)", jerr.text, jerr.line,
			jerr.column);
	return o;
}

int api_parse_create(const char *body, size_t len, struct app_spec *spec)
{
	json_t *o = api_parse_json(body, len);
	int rc;

	if (!o)
		return -1;
	rc = spec_from_json(o, spec);
	json_decref(o);
	return rc;
}

/* request.c - parse and validate API request bodies (see request.h). */
#include <jansson.h>

#include "api/request.h"
#include "common/err.h"

int api_parse_create(const char *body, size_t len, struct app_spec *spec)
{
	json_error_t jerr;
	json_t *o;
	int rc;

	if (len > API_BODY_MAX)
		return err_set("request body larger than %d bytes", API_BODY_MAX);
	o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return err_set("malformed JSON: %s (line %d, column %d)", jerr.text, jerr.line,
			       jerr.column);
	rc = spec_from_json(o, spec);
	json_decref(o);
	return rc;
}

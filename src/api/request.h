/*
 * request.h - the API's request bodies, parsed and validated by pure
 * functions (no daemon state): what the handlers act on, and what
 * fuzz/api_request.c feeds with arbitrary bytes.
 */
#ifndef PC_API_REQUEST_H
#define PC_API_REQUEST_H

#include <jansson.h>
#include <stddef.h>

#include "worker/spec.h"

#define API_BODY_MAX (256 * 1024)

/* A request body as JSON (duplicate keys refused), or NULL with err_set. */
json_t *api_parse_json(const char *body, size_t len);

/* POST /apps: a JSON object with name, argv and optional env, workdir,
 * ports, idle_ms, sleep_ms.  Malformed JSON, unknown fields, wrong types
 * and bad values fail with a message (err_msg) for a 400 answer. */
int api_parse_create(const char *body, size_t len, struct app_spec *spec);

#endif

/*
 * api.h - the hub's HTTP/JSON API (routes in docs/hub.md), on the unix
 * socket DIR/api.sock and, with --listen, over HTTPS.  Every request
 * carries "Authorization: Bearer TOKEN": a tenant's token sees and
 * changes only that tenant's apps; a worker token registers and
 * heartbeats workers.  Conventions (JSON bodies, {"error": ...}, status
 * codes, the request parser) are the serve API's (docs/api.md).
 */
#ifndef PC_HUB_API_H
#define PC_HUB_API_H

struct hub;
struct hub_api;

/* listen: ADDR:PORT or NULL; then cert and key are PEM files. */
int hub_api_start(struct hub *h, const char *listen, const char *cert, const char *key,
		  struct hub_api **out);
void hub_api_stop(struct hub_api *api);

#endif

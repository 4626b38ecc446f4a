/*
 * server.h - the daemon's HTTP/JSON API (libmicrohttpd): on the unix
 * socket STATE_DIR/api.sock (mode 0600) and, if asked, on a TCP address.
 * Routes and bodies: docs/api.md.
 */
#ifndef PC_API_SERVER_H
#define PC_API_SERVER_H

struct daemon;
struct api;

/* Serve d's API on unix_path and, if listen is not NULL, on ADDR:PORT. */
int api_start(struct daemon *d, const char *unix_path, const char *listen, struct api **out);
void api_stop(struct api *api);

#endif

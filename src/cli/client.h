/*
 * client.h - the CLI's side of the API: requests to `picocenter serve`
 * over its unix socket (STATE_DIR/api.sock; --state-dir or
 * PICOCENTER_STATE_DIR), or to a hub (--hub URL --token TOKEN, or
 * PICOCENTER_HUB and PICOCENTER_TOKEN; an https:// URL, or unix:PATH for
 * a hub's socket; --cacert or PICOCENTER_CACERT names the CA that signed
 * the hub's certificate), through libcurl.
 */
#ifndef PC_CLI_CLIENT_H
#define PC_CLI_CLIENT_H

#include <jansson.h>
#include <stddef.h>

/* Where the requests go: a daemon's state dir, or a hub. */
struct target {
	const char *state_dir;
	const char *hub;       /* https://HOST:PORT or unix:PATH, or NULL */
	const char *token;
	const char *cacert;
};

struct client_reply {
	long status;
	char *body;
	size_t len;
	int stream;            /* write the body to stdout as it comes */
};

/* Take the target's options out of argv (anywhere before "--"); NULL, or
 * what is missing. */
const char *client_take_target(int *argc, char **argv, struct target *t);
/* One request; the answer's status and body (or, streamed, stdout) in *r. */
int client_request(const struct target *t, const char *method, const char *path,
		   const char *body, struct client_reply *r);
/* One request whose answer is JSON (into *out when out is not NULL); an
 * error answer or failure is printed as "who: message".  0 or an exit
 * code. */
int client_call(const struct target *t, const char *who, const char *method, const char *path,
		const char *body, json_t **out);
/* Print "who: msg"; returns 1. */
int client_fail(const char *who, const char *msg);

#endif

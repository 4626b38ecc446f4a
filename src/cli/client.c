/* client.c - requests to a daemon's or a hub's API (see client.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "common/err.h"
#include "store/curl_lib.h"

#define CLIENT_TIMEOUT_S 300

int client_fail(const char *who, const char *msg)
{
	fprintf(stderr, "%s: %s\n", who, msg);
	return 1;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct client_reply *r = arg;
	size_t len = size * n;
	char *nb;

	if (r->stream && r->status < 400) {
		fwrite(p, 1, len, stdout);
		fflush(stdout);
		return len;
	}
	nb = realloc(r->body, r->len + len + 1);
	if (!nb)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, p, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct client_reply *r = arg;
	int code;

	if (sscanf(p, "HTTP/%*s %d", &code) == 1)
		r->status = code;
	return size * n;
}

/* curl_easy_perform through the multi interface (what curl_lib loads). */
static CURLcode perform(const struct curl_lib *cl, CURL *h)
{
	CURLM *m = cl->multi_init();
	CURLcode rc = CURLE_OK;
	int running = 1, left;
	CURLMsg *msg;

	if (!m)
		return CURLE_OUT_OF_MEMORY;
	if (cl->multi_add_handle(m, h) != CURLM_OK) {
		cl->multi_cleanup(m);
		return CURLE_FAILED_INIT;
	}
	while (running) {
		if (cl->multi_perform(m, &running) != CURLM_OK) {
			rc = CURLE_RECV_ERROR;
			break;
		}
		if (running && cl->multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK) {
			rc = CURLE_RECV_ERROR;
			break;
		}
	}
	while ((msg = cl->multi_info_read(m, &left)))
		if (msg->msg == CURLMSG_DONE)
			rc = msg->data.result;
	cl->multi_remove_handle(m, h);
	cl->multi_cleanup(m);
	return rc;
}

/* The socket (or "") and URL of a request to t. */
static void address(const struct target *t, const char *path, char *sock, size_t slen,
		    char *url, size_t ulen)
{
	sock[0] = '\0';
	if (!t->hub)
		snprintf(sock, slen, "%s/api.sock", t->state_dir);
	else if (!strncmp(t->hub, "unix:", 5))
		snprintf(sock, slen, "%s", t->hub + 5);
	if (sock[0]) {
		snprintf(url, ulen, "http://localhost%s", path);
	} else {
		size_t n = strlen(t->hub);

		while (n && t->hub[n - 1] == '/')
			n--;
		snprintf(url, ulen, "%.*s%s", (int)n, t->hub, path);
	}
}

/* One request to the daemon or hub; the reply's body and status in *r. */
int client_request(const struct target *t, const char *method, const char *path,
		   const char *body, struct client_reply *r)
{
	const struct curl_lib *cl = curl_lib();
	char sock[PATH_MAX], url[1024], auth[256];
	struct curl_slist *hdr = NULL;
	CURLcode rc;
	CURL *h;

	if (!cl)
		return -1;
	address(t, path, sock, sizeof(sock), url, sizeof(url));
	h = cl->easy_init();
	if (!h)
		return err_set("curl init failed");
	if (sock[0])
		cl->easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
	if (t->cacert)
		cl->easy_setopt(h, CURLOPT_CAINFO, t->cacert);
	if (t->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t->token);
		hdr = cl->slist_append(hdr, auth);
	}
	cl->easy_setopt(h, CURLOPT_URL, url);
	cl->easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	cl->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	cl->easy_setopt(h, CURLOPT_WRITEDATA, r);
	cl->easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	cl->easy_setopt(h, CURLOPT_HEADERDATA, r);
	cl->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (!r->stream)
		cl->easy_setopt(h, CURLOPT_TIMEOUT, (long)CLIENT_TIMEOUT_S);
	if (body) {
		hdr = cl->slist_append(hdr, "Content-Type: application/json");
		cl->easy_setopt(h, CURLOPT_POSTFIELDS, body);
	}
	if (hdr)
		cl->easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	rc = perform(cl, h);
	cl->slist_free_all(hdr);
	cl->easy_cleanup(h);
	if (rc != CURLE_OK)
		return err_set("cannot reach the %s at %s: %s", t->hub ? "hub" : "daemon",
			       t->hub ? t->hub : sock, cl->easy_strerror(rc));
	return 0;
}

/* Run a request; on an error answer print its message.  0 or exit code. */
int client_call(const struct target *t, const char *who, const char *method, const char *path,
		const char *body, json_t **out)
{
	struct client_reply r = { 0 };
	json_error_t jerr;
	json_t *o;

	if (client_request(t, method, path, body, &r) < 0) {
		free(r.body);
		return client_fail(who, err_msg());
	}
	o = r.body ? json_loads(r.body, 0, &jerr) : NULL;
	if (r.status >= 400) {
		const char *msg = json_string_value(json_object_get(o, "error"));

		client_fail(who, msg ? msg : (r.body ? r.body : "failed"));
		json_decref(o);
		free(r.body);
		return 1;
	}
	free(r.body);
	if (out)
		*out = o;
	else
		json_decref(o);
	if (out && !o)
		return client_fail(who, "the answer is not JSON");
	return 0;
}

/* Option opt VALUE may come anywhere before "--"; it is taken out of argv. */
static const char *take_option(int *argc, char **argv, const char *opt, const char *env)
{
	const char *val = getenv(env);

	for (int i = 1; i < *argc && strcmp(argv[i], "--"); i++) {
		if (strcmp(argv[i], opt) || i + 1 >= *argc)
			continue;
		val = argv[i + 1];
		memmove(argv + i, argv + i + 2, (size_t)(*argc - i - 2) * sizeof(char *));
		*argc -= 2;
		break;
	}
	return val && val[0] ? val : NULL;
}

/* The daemon or hub the command talks to; NULL with a message if none. */
const char *client_take_target(int *argc, char **argv, struct target *t)
{
	t->state_dir = take_option(argc, argv, "--state-dir", "PICOCENTER_STATE_DIR");
	t->hub = take_option(argc, argv, "--hub", "PICOCENTER_HUB");
	t->token = take_option(argc, argv, "--token", "PICOCENTER_TOKEN");
	t->cacert = take_option(argc, argv, "--cacert", "PICOCENTER_CACERT");
	if (t->hub && !t->token)
		return "a hub wants a token: give --token TOKEN or set PICOCENTER_TOKEN";
	if (t->hub && strncmp(t->hub, "https://", 8) && strncmp(t->hub, "unix:", 5))
		return "--hub wants https://HOST:PORT or unix:PATH";
	if (!t->hub && !t->state_dir)
		return "no daemon: give --state-dir DIR or set PICOCENTER_STATE_DIR "
		       "(or --hub URL --token TOKEN)";
	return NULL;
}


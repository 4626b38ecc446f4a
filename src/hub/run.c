/*
 * run.c - the hub's life (hub_run, hub.h): its state directory and lock,
 * the registry, DNS, the API, then a watch every HUB_WATCH_MS that marks
 * workers down when silent past their timeout, until SIGINT/SIGTERM.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/event_log.h"
#include "common/io.h"
#include "hub/api.h"
#include "hub/dns_server.h"
#include "hub/hub.h"

#define HUB_WATCH_MS 500
#define SERIAL_MS 1000         /* the SOA serial is read this often at most */
#define DNS_HOLD_WAIT_MS 100   /* an answer waits for the app's new worker this long at most */
#define DNS_HOLD_STEP_MS 5

static struct hub *the_hub;     /* for the signal handler only */

/* Remember --db for the commands run on this machine (mode 0600: the URL
 * may hold a password); forget it when the hub runs on SQLite. */
static int save_url(const struct hub *h, const char *url)
{
	char path[PATH_MAX], *line;
	int rc;

	snprintf(path, sizeof(path), "%s/db.url", h->dir);
	if (!url)
		return unlink(path) < 0 && errno != ENOENT ? err_sys("unlink %s", path) : 0;
	if (asprintf(&line, "%s\n", url) < 0)
		return err_set("out of memory");
	rc = write_file_atomic(path, line, strlen(line), 0600, NULL);
	free(line);
	return rc;
}

/* ---- start and stop ---- */

static void on_stop(int sig)
{
	(void)sig;
	if (the_hub)
		the_hub->stop = 1;
}


static int take_lock(struct hub *h)
{
	return state_dir_lock(h->dir, "hub.lock", "picocenter hub", &h->lock_fd);
}

/* The address DNS gives for this hub's name server: --ns-address, else
 * --dns's unless it is a wildcard (then none: NULL). */
static const char *ns_address(const struct hub_opts *o, char *buf, size_t len)
{
	const char *dns = o->dns, *colon = strrchr(dns, ':');
	size_t n = colon ? (size_t)(colon - dns) : 0;
	unsigned char bin[sizeof(struct in6_addr)];

	if (o->ns_address) {
		if (inet_pton(strchr(o->ns_address, ':') ? AF_INET6 : AF_INET, o->ns_address, bin) != 1) {
			err_set("--ns-address %s is not an IP address", o->ns_address);
			return NULL;
		}
		snprintf(buf, len, "%s", o->ns_address);
		return buf;
	}
	if (n >= 2 && dns[0] == '[')
		snprintf(buf, len, "%.*s", (int)n - 2, dns + 1);
	else
		snprintf(buf, len, "%.*s", (int)n, dns);
	if (!buf[0] || !strcmp(buf, "0.0.0.0") || !strcmp(buf, "::"))
		return NULL;
	return buf;
}

/* --name, else the first label of the host name (lowercase), else "hub". */
static void hub_name(const struct hub_opts *o, char *buf, size_t len)
{
	char host[256] = "";

	if (o->name) {
		snprintf(buf, len, "%s", o->name);
		return;
	}
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	host[strcspn(host, ".")] = '\0';
	for (char *c = host; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	snprintf(buf, len, "%s", host);
	if (hub_check_name("hub", buf) < 0)
		snprintf(buf, len, "hub");
	err_clear();
}

static size_t name_servers(void *arg, struct dns_ns *out, size_t max);

static int hub_init(struct hub *h, const struct hub_opts *o)
{
	char path[PATH_MAX], ns[HUB_ADDR_MAX + 8], name[HUB_NAME_MAX + 1];
	const char *addr;

	h->lock_fd = -1;
	h->worker_timeout_ms = o->worker_timeout_ms;
	h->hub_timeout_ms = o->hub_timeout_ms;
	notify_init(&h->news);
	h->relieved = json_object();
	if (!h->relieved)
		return err_set("out of memory");
	pthread_mutex_init(&h->serial_lock, NULL);
	if (mkdir_p(o->state_dir) < 0)
		return -1;
	if (!realpath(o->state_dir, path))
		return err_sys("state dir %s", o->state_dir);
	if (strlen(path) >= sizeof(h->dir))
		return err_set("state dir %s is too long", path);
	strcpy(h->dir, path);
	/* The registry and db.url are root's alone. */
	if (chmod(h->dir, 0700) < 0)
		return err_sys("chmod %s", h->dir);
	hub_name(o, name, sizeof(name));
	addr = ns_address(o, ns, sizeof(ns));
	if ((o->ns_address && !addr) || take_lock(h) < 0 ||
	    dns_zone_init(&h->zone, o->zone, o->ttl, name, addr) < 0)
		return -1;
	h->zone.servers = name_servers;
	snprintf(path, sizeof(path), "%s/registry.db", h->dir);
	if (hubreg_open(o->db_url, path, &h->reg) < 0)
		return -1;
	return save_url(h, o->db_url);
}

static void hub_free(struct hub *h)
{
	if (h->reg && h->zone.apex && strcmp(hubreg_engine(h->reg), "sqlite") &&
	    hubreg_hub_forget(h->reg, h->zone.self.name) < 0)
		hub_log("error: %s", err_msg());
	hubreg_close(h->reg);
	dns_zone_free(&h->zone);
	notify_free(&h->news);
	json_decref(h->relieved);
	pthread_mutex_destroy(&h->serial_lock);
	if (h->lock_fd >= 0)
		close(h->lock_fd);
}

/* ---- the watch ---- */

static void log_rehomed(const char *app, const char *from, const char *addr, int ran, void *arg)
{
	(void)arg;
	if (ran)
		hub_log("app %s: it ran on %s, which is down; restarted on the worker at %s", app,
			from, addr);
	else
		hub_log("app %s: its worker %s is down; moved asleep to the worker at %s", app, from,
			addr);
}

/* Called with the registry busy: the names are kept for rehome_down. */
static void log_down(const char *name, void *arg)
{
	json_t *down = arg;

	json_array_append_new(down, json_string(name));
}

/* Workers just marked down are logged; the apps that ran on down
 * workers go elsewhere as soon as a worker can take them. */
static int rehome_down(struct hub *h, json_t *down)
{
	int moved;

	for (size_t i = 0; i < json_array_size(down); i++)
		hub_log("worker %s: down (no heartbeat for %lld ms)",
			json_string_value(json_array_get(down, i)), (long long)h->worker_timeout_ms);
	moved = hubreg_rehome(h->reg, log_rehomed, h);
	if (moved > 0 || json_array_size(down))
		notify_change(&h->news);
	json_array_clear(down);
	return moved < 0 ? err_wrap("the apps of down workers") : 0;
}

/* This hub's row in the registry's hubs (as a name server), written three
 * times per --hub-timeout; not with SQLite, whose hub is the only one. */
static int hub_beat(struct hub *h, int64_t *last)
{
	int64_t now = hub_now_ms();

	if (!strcmp(hubreg_engine(h->reg), "sqlite") || now - *last < h->hub_timeout_ms / 3)
		return 0;
	*last = now;
	return hubreg_hub_beat(h->reg, h->zone.self.name, h->zone.self.addr, now);
}

static void watch(struct hub *h)
{
	struct timespec tick = { 0, HUB_WATCH_MS * 1000000L };
	json_t *down = json_array();
	int64_t beat = 0;
	int failing = 0;

	while (down && !h->stop) {
		int rc = hub_beat(h, &beat);

		if (rc >= 0)
			rc = hubreg_workers_expire(h->reg, hub_now_ms() - h->worker_timeout_ms,
						   log_down, down);

		if (rc >= 0)
			rc = rehome_down(h, down);
		if (rc >= 0)
			rc = hub_relieve(h);
		if (rc < 0 && !failing)
			hub_log("error: %s", err_msg());
		else if (rc >= 0 && failing)
			hub_log("registry reachable again");
		failing = rc < 0;
		nanosleep(&tick, NULL);
	}
	json_decref(down);
}

/* The SOA serial, read from the registry at most once per SERIAL_MS (the
 * last one read while the registry is away): as text into buf. */
static int zone_serial(struct hub *h, char *buf, size_t len)
{
	int64_t now = hub_now_ms(), serial;

	pthread_mutex_lock(&h->serial_lock);
	if (now - h->serial_at >= SERIAL_MS && hubreg_zone_serial(h->reg, &serial) == 0 &&
	    serial > 0) {
		h->serial = serial;
		h->serial_at = now;
	}
	serial = h->serial;
	pthread_mutex_unlock(&h->serial_lock);
	err_clear();
	if (serial <= 0)
		return -1;
	snprintf(buf, len, "%lld", (long long)serial);
	return 0;
}

/* DNS's name servers: the hubs the registry has heard from within
 * --hub-timeout, read at most once per SERIAL_MS (the last list read
 * while the registry is away). */
static size_t name_servers(void *arg, struct dns_ns *out, size_t max)
{
	struct hub *h = arg;
	struct dns_ns read[DNS_NS_MAX];
	int64_t now = hub_now_ms();
	size_t n;

	pthread_mutex_lock(&h->serial_lock);
	if (now - h->servers_at >= SERIAL_MS &&
	    hubreg_hub_list(h->reg, now - h->hub_timeout_ms, read, DNS_NS_MAX, &n) == 0) {
		memcpy(h->servers, read, n * sizeof(*read));
		h->nservers = n;
		h->servers_at = now;
	}
	n = h->nservers < max ? h->nservers : max;
	memcpy(out, h->servers, n * sizeof(*out));
	pthread_mutex_unlock(&h->serial_lock);
	err_clear();
	return n;
}

/* An app its worker is taking over from the store: the answer waits
 * (DNS_HOLD_WAIT_MS at most) until that worker holds it, so that its box
 * holds the client's first packet rather than refusing it. */
static void hold_answer(struct hub *h, const char *name)
{
	struct timespec step = { 0, DNS_HOLD_STEP_MS * 1000000L };

	for (int i = 0; i < DNS_HOLD_WAIT_MS / DNS_HOLD_STEP_MS &&
			hubreg_app_taking(h->reg, name) == 1; i++)
		nanosleep(&step, NULL);
	err_clear();
}

/* DNS's lookup: the registry's answer for an app name (NULL: the zone's
 * serial). */
static int lookup(void *arg, const char *name, char *addr, size_t len)
{
	struct hub *h = arg;
	char from[HUB_NAME_MAX + 1];
	int stored = 0, rc;

	if (!name)
		return zone_serial(h, addr, len);
	rc = hubreg_app_address(h->reg, name, addr, len, from, &stored);

	if (rc == 0 && from[0])
		hub_log("app %s: its worker %s is down; moved to the worker at %s", name, from,
			addr);
	if (rc == 0 && (stored || from[0])) {   /* its worker revives it now */
		notify_wake(&h->news, name, hub_now_ms());
		hold_answer(h, name);
	}
	/* a failure is SERVFAIL; the watch logs the registry's state */
	return rc == HUBREG_NOTFOUND ? 1 : rc;
}

int hub_run(const struct hub_opts *o)
{
	struct hub *h = calloc(1, sizeof(*h));
	struct dns_server *dns = NULL;
	struct hub_api *api = NULL;
	int rc = -1;

	if (!h)
		return err_set("out of memory");
	if (hub_init(h, o) < 0 || stop_signals_install(on_stop) < 0)
		goto out;
	the_hub = h;
	if (dns_server_start(o->dns, &h->zone, lookup, h, &dns) < 0 ||
	    hub_api_start(h, o->listen, o->tls_cert, o->tls_key, &api) < 0)
		goto out;
	hub_log("zone %s, registry %s, DNS on %s (udp, tcp), API on %s/api.sock%s%s", o->zone,
		hubreg_engine(h->reg), o->dns, h->dir, o->listen ? " and https://" : "",
		o->listen ? o->listen : "");
	watch(h);
	hub_log("stopping");
	rc = 0;
out:
	hub_api_stop(api);
	dns_server_stop(dns);
	the_hub = NULL;
	hub_free(h);
	free(h);
	return rc;
}

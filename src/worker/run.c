/*
 * run.c - `picocenter serve` from start to stop (daemon_run, daemon.h):
 * the state directory and its lock, the registry, the apps found again,
 * the API its caller serves, the watch loop until SIGINT/SIGTERM.
 * Stopping the daemon leaves every app as it is: running apps keep
 * running under their keepers, napping apps' sockets stay with their
 * holder.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box/box.h"
#include "common/err.h"
#include "common/event_log.h"
#include "common/io.h"
#include "store/store.h"
#include "worker/child.h"
#include "worker/daemon.h"
#include "worker/holder.h"

static struct daemon *the_daemon;     /* for the signal handler only */

static void on_stop(int sig)
{
	(void)sig;
	if (the_daemon)
		daemon_stop(the_daemon);
}

struct agent_run {
	struct daemon *d;
	const struct daemon_opts *o;
};

static void *agent_thread(void *arg)
{
	struct agent_run *r = arg;

	r->o->agent(r->d, r->o->agent_arg);
	return NULL;
}


/* One daemon per state directory. */
static int take_lock(struct daemon *d)
{
	return state_dir_lock(d->dir, "serve.lock", "picocenter serve", &d->lock_fd);
}

/* --bridge, --subnet and --subnet6, checked as a box will take them. */
static int box_net_opts(struct daemon *d, const struct daemon_opts *o)
{
	struct box_config cfg;

	if (box_config_init(&cfg, "check") < 0)
		return -1;
	if (o->subnet && box_parse_subnet(o->subnet, &cfg) < 0)
		return err_wrap("--subnet");
	if (o->subnet6 && (strlen(o->subnet6) >= sizeof(d->subnet6) ||
			   box_parse_subnet6(o->subnet6, &cfg) < 0))
		return err_set("--subnet6 '%.64s': an IPv6 network PREFIX/N (N in 48..96) or none",
			       o->subnet6);
	if (o->bridge && (!o->bridge[0] || strlen(o->bridge) >= sizeof(d->bridge) ||
			  strchr(o->bridge, '/')))
		return err_set("--bridge '%.32s': 1-15 characters, no '/'", o->bridge);
	snprintf(d->subnet, sizeof(d->subnet), "%s", o->subnet ? o->subnet : "");
	snprintf(d->subnet6, sizeof(d->subnet6), "%s", o->subnet6 ? o->subnet6 : "");
	snprintf(d->bridge, sizeof(d->bridge), "%s", o->bridge ? o->bridge : "");
	return 0;
}

/* Open the store once and close it, before any thread or engine child:
 * an s3:// store loads and initialises its HTTP library (libcurl, 10-20
 * ms) then, and every engine child forked for an operation inherits it
 * instead of loading it before its first request.  No request is made; a
 * store that cannot be opened fails at its first use, as before. */
static void preload_store(const char *url)
{
	struct store *s;

	if (store_open(url, &s) == 0)
		store_close(s);
	err_clear();
}

static int daemon_init(struct daemon *d, const struct daemon_opts *o)
{
	char path[PATH_MAX];

	if (mkdir_p(o->state_dir) < 0)
		return -1;
	if (!realpath(o->state_dir, path))
		return err_sys("state dir %s", o->state_dir);
	if (strlen(path) >= sizeof(d->dir))
		return err_set("state dir %s is too long", path);
	strcpy(d->dir, path);
	/* The registry holds the apps' environments: root's eyes only. */
	if (chmod(d->dir, 0700) < 0)
		return err_sys("chmod 0700 %s", d->dir);
	if (o->store_url)
		snprintf(d->store_url, sizeof(d->store_url), "%s", o->store_url);
	else
		snprintf(d->store_url, sizeof(d->store_url), "file://%s/store", d->dir);
	snprintf(d->box_dir, sizeof(d->box_dir), "%s/boxes", d->dir);
	if (o->chunk_cache)
		snprintf(d->cache_dir, sizeof(d->cache_dir), "%s/cache", d->dir);
	preload_store(d->store_url);
	if (box_net_opts(d, o) < 0)
		return -1;
	d->lock_fd = -1;
	pthread_mutex_init(&d->lock, NULL);
	pthread_mutex_init(&d->holder_mu, NULL);
	pthread_cond_init(&d->changed, NULL);
	if (pipe2(d->wake, O_CLOEXEC | O_NONBLOCK) < 0)
		return err_sys("pipe");
	if (take_lock(d) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/apps", d->dir);
	if (mkdir_p(path) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/registry.db", d->dir);
	return registry_open(path, &d->reg);
}

static void daemon_free(struct daemon *d)
{
	while (d->apps) {
		struct app *a = d->apps;

		d->apps = a->next;
		app_free(a);
	}
	registry_close(d->reg);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	if (d->wake[0] > 0) {
		close(d->wake[0]);
		close(d->wake[1]);
	}
}

/* Operations under way finish before the daemon exits. */
static void wait_ops(struct daemon *d)
{
	pthread_mutex_lock(&d->lock);
	for (;;) {
		struct app *a = d->apps;

		while (a && !a->busy)
			a = a->next;
		if (!a)
			break;
		pthread_cond_wait(&d->changed, &d->lock);
	}
	pthread_mutex_unlock(&d->lock);
}

int daemon_run(const struct daemon_opts *o)
{
	struct daemon *d = calloc(1, sizeof(*d));
	struct api *api = NULL;
	struct agent_run ar = { d, o };
	char sock[PATH_MAX];
	pthread_t agent;
	int rc = -1, agent_on = 0;

	if (!d)
		return err_set("out of memory");
	if (daemon_init(d, o) < 0 || stop_signals_install(on_stop) < 0)
		goto out;
	the_daemon = d;
	if (asleep_init(d) < 0)     /* asleep apps then revive on `app swap-in` only */
		daemon_log("-", "error: %s", err_msg());
	if (recover_apps(d) < 0)
		goto out;
	snprintf(sock, sizeof(sock), "%s/api.sock", d->dir);
	if (o->api_start(d, sock, o->listen, &api) < 0)
		goto out;
	daemon_log("-", "serving %s (store %s)%s%s", sock, d->store_url,
		   o->listen ? ", API also on " : "", o->listen ? o->listen : "");
	if (box_migrations_wait())
		daemon_log("-", "note: no cgroup hierarchy is mounted with favordynmods: a boxed "
			   "app's revival may wait about 10 ms for the kernel (docs/operations.md)");
	agent_on = o->agent && pthread_create(&agent, NULL, agent_thread, &ar) == 0;
	if (o->agent && !agent_on)
		daemon_log("-", "error: cannot start a thread for the hub; stopping");
	else
		watch_loop(d);
	daemon_log("-", "stopping; apps stay as they are");
	if (agent_on)
		pthread_join(agent, NULL);
	o->api_stop(api);
	wait_ops(d);
	child_spare_stop();
	pthread_mutex_lock(&d->lock);
	holder_retire(d);           /* unless an app naps: it keeps their sockets */
	pthread_mutex_unlock(&d->lock);
	asleep_stop(d);
	rc = o->agent && !agent_on ? err_set("cannot start a thread for the hub") : 0;
out:
	the_daemon = NULL;
	daemon_free(d);
	free(d);
	return rc;
}

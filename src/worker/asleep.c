/*
 * asleep.c - the asleep tier (docs/serve.md): a napping app whose sleep
 * time has passed, or any napping app under memory pressure, gives up its
 * held sockets and its box sleeps (namespaces, veth, cgroup, mounts go);
 * the packets for its address are then held in the kernel (box/hold.h)
 * and revive it, and once it runs again they go on to it.  An app revived
 * here from an image made elsewhere gets its box ahead of the image
 * (asleep, address and ports only), and its packets are held the same
 * way while the image is fetched (asleep_ahead).
 *
 * This file says what is due (asleep_want) and does the sleeping; the
 * watch loop (watch.c) starts the revivals and sleeps it says are due, so
 * that the tier calls nothing of life.c, which calls it.
 *
 * The daemon reads one netfilter queue; its number is kept in
 * DIR/hold.queue, so a restarted daemon reads the same queue (the rule
 * and the armed addresses stay in the kernel meanwhile).  Only a runtime
 * that gives an app a box of its own (runtime.box_of) has the tier.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "worker/child.h"
#include "worker/daemon.h"
#include "worker/holder.h"

#define PRESSURE_AVAIL_PCT 10      /* MemAvailable under this % of MemTotal */

static void queue_file(const struct daemon *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s/hold.queue", d->dir);
}

/* The queue's number, written whole or not at all. */
static int write_queue_file(const char *path, int queue)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", queue);

	return write_file_atomic(path, buf, (size_t)n, 0600, NULL);
}

int asleep_init(struct daemon *d)
{
	char path[PATH_MAX], buf[32];
	ssize_t n;
	int q;

	queue_file(d, path, sizeof(path));
	n = read_small(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;           /* no app ever slept here: opened when one does */
	buf[n] = '\0';
	q = atoi(buf);
	if (hold_open(&d->hold, q) < 0)
		return err_wrap("the hold of asleep apps (%s)", path);
	d->hold_ok = 1;
	return 0;
}

/* The queue, opened (and its number kept) on first use. */
static int ensure_hold(struct daemon *d)
{
	char path[PATH_MAX];

	if (d->hold_ok)
		return 0;
	if (hold_open_free(&d->hold) < 0)
		return -1;
	queue_file(d, path, sizeof(path));
	if (write_queue_file(path, d->hold.queue) < 0) {
		hold_remove(d->hold.queue);
		hold_close(&d->hold);
		return -1;
	}
	d->hold_ok = 1;
	return 0;
}

void asleep_stop(struct daemon *d)
{
	char path[PATH_MAX];
	int asleep = 0;

	if (!d->hold_ok)
		return;
	for (struct app *a = d->apps; a; a = a->next)
		asleep |= a->sleep_addr != 0;
	if (!asleep) {              /* nothing to hold for a next daemon */
		hold_remove(d->hold.queue);
		queue_file(d, path, sizeof(path));
		unlink(path);
	}
	hold_close(&d->hold);
	d->hold_ok = 0;
}

int asleep_fd(const struct daemon *d)
{
	return d->hold_ok ? hold_fd(&d->hold) : -1;
}

static struct app *app_at(struct daemon *d, uint32_t addr)
{
	for (struct app *a = d->apps; a; a = a->next)
		if (a->sleep_addr == addr)
			return a;
	return NULL;
}

void asleep_packets(struct daemon *d)
{
	uint32_t addrs[64];
	int n = hold_read(&d->hold, addrs, 64), woken = 0;

	if (n < 0)
		daemon_log("-", "error: %s", err_msg());
	for (int i = 0; i < n; i++) {
		struct app *a = app_at(d, addrs[i]);

		if (!a) {           /* armed by nobody we know (an app removed) */
			hold_release(&d->hold, addrs[i], 0);
			continue;
		}
		if (!a->busy && (a->state == APP_ASLEEP || a->state == APP_FAILED)) {
			char what[96];

			hold_describe(&d->hold, addrs[i], what, sizeof(what));
			daemon_log(a->spec.name, "held a packet for it (%s)", what);
			woken++;
		}
	}
	if (woken)
		daemon_wake(d);     /* the watch loop revives it (asleep_want) */
}

/* Lock held, a busy: let what was held for a go on (ok) or drop it (a
 * failed revival: the clients retransmit, and each retransmit tries
 * again).  The disarm (an nftables commit, ~10 ms) runs without the lock,
 * so that other apps revived at the same time release theirs meanwhile. */
void asleep_woken(struct daemon *d, struct app *a, int ok)
{
	uint32_t addr = a->sleep_addr;
	int queue = d->hold.queue, held;

	if (!addr || !d->hold_ok)
		return;
	held = hold_count(&d->hold, addr);
	if (ok && held > 0)
		daemon_log(a->spec.name, "%d packet%s held for it go%s on", held, held > 1 ? "s" : "",
			   held > 1 ? "" : "es");
	hold_release(&d->hold, addr, ok);
	if (!ok)
		return;
	pthread_mutex_unlock(&d->lock);
	hold_disarm(queue, addr);
	pthread_mutex_lock(&d->lock);
	asleep_packets(d);          /* what came before the disarm (a is busy) */
	hold_release(&d->hold, addr, 1);
	a->sleep_addr = 0;
}

void asleep_forget(struct daemon *d, struct app *a)
{
	if (!a->sleep_addr || !d->hold_ok)
		return;
	hold_release(&d->hold, a->sleep_addr, 0);
	hold_disarm(d->hold.queue, a->sleep_addr);
	a->sleep_addr = 0;
}

/* 1 if a napping app's held sockets include a connection: it stays
 * napping, so that the connection survives (its FIN revives the app). */
static int holds_connection(const struct app *a)
{
	for (size_t i = 0; i < a->nr_held; i++) {
		int type = 0, listening = 0;
		socklen_t len = sizeof(type);

		if (getsockopt(a->held[i].fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
			continue;
		len = sizeof(listening);
		if (type == SOCK_STREAM &&
		    getsockopt(a->held[i].fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 &&
		    !listening)
			return 1;
	}
	return 0;
}

/* 1 if something waits in a held socket (it must be served, not lost). */
static int held_ready(const struct app *a)
{
	for (size_t i = 0; i < a->nr_held; i++) {
		struct pollfd p = { .fd = a->held[i].fd, .events = POLLIN };

		if (poll(&p, 1, 0) > 0)
			return 1;
	}
	return 0;
}

/* Arm the hold for a's box (lock held, dropped meanwhile); *b = the box. */
static int arm_for(struct daemon *d, struct app *a, struct box *b)
{
	struct runtime_ctx ctx = { .store_url = d->store_url, .image = a->spec.name,
				   .box_dir = app_box_dir(d, a) };
	int rc;

	if (ensure_hold(d) < 0)
		return -1;
	pthread_mutex_unlock(&d->lock);
	rc = runtime_of(&a->spec)->box_of(&ctx, b);
	if (rc == 0)
		rc = hold_arm(d->hold.queue, b->addr);
	pthread_mutex_lock(&d->lock);
	if (rc == 0)
		a->sleep_addr = b->addr;
	return rc;
}

struct ahead_args {
	const struct runtime *rt;
	const struct app_spec *spec;
	struct runtime_ctx ctx;
};

/* In an engine child: the box made ahead; its address out. */
static int ahead_child(void *arg, void *out)
{
	struct ahead_args *x = arg;
	static struct box b;

	if (x->rt->box_ahead(x->spec, &x->ctx, &b) < 0)
		return -1;
	memcpy(out, &b.addr, sizeof(b.addr));
	return 0;
}

int asleep_ahead(struct daemon *d, struct app *a, uint32_t box_addr)
{
	struct ahead_args x = { .rt = runtime_of(&a->spec), .spec = &a->spec };
	char log[PATH_MAX];
	uint32_t addr = 0;
	int rc;

	if (!x.rt->box_ahead)
		return 0;
	if (ensure_hold(d) < 0)
		return err_wrap("hold its packets");
	app_path(d, a->spec.name, "log", log, sizeof(log));
	x.ctx = (struct runtime_ctx){ .image = a->spec.name, .box_dir = app_box_dir(d, a),
				      .log = log, .bridge = d->bridge, .subnet = d->subnet,
				      .subnet6 = d->subnet6, .hold_queue = d->hold.queue,
				      .box_addr = box_addr };
	pthread_mutex_unlock(&d->lock);
	rc = child_run(ahead_child, &x, &addr, sizeof(addr), NULL, NULL);
	pthread_mutex_lock(&d->lock);
	if (rc < 0)
		return err_wrap("its box ahead of its image");
	a->sleep_addr = addr;
	daemon_save(d, a);
	daemon_log(a->spec.name, "its box made ahead of its image: its packets are held until it runs");
	return 0;
}

/* Lock held, a busy and napping: arm the hold for its box's address; if
 * nothing arrived meanwhile, the holder closes its sockets and the box
 * is put to sleep.  0: asleep; 1: it stays napping; -1: error. */
int life_sleep(struct daemon *d, struct app *a, const char *trigger)
{
	struct box b;
	int64_t since = a->napping_since_ms;
	int rc;

	if (a->state != APP_NAPPING)
		return err_set("app %s is %s, not napping", a->spec.name, app_state_name(a->state));
	if (!runtime_of(&a->spec)->box_of)
		return err_set("app %s has no box: it cannot fall asleep", a->spec.name);
	a->napping_since_ms = mono_ms();    /* unless asleep: asked again later */
	if (holds_connection(a)) {
		daemon_log(a->spec.name, "stays napping: it holds a connection");
		return 1;
	}
	if (arm_for(d, a, &b) < 0)
		return err_wrap("fall asleep");
	if (held_ready(a)) {       /* a client came before the hold was armed */
		hold_disarm(d->hold.queue, b.addr);
		asleep_packets(d);
		hold_release(&d->hold, b.addr, 1);
		a->sleep_addr = 0;
		return 1;
	}
	custody_free(a->held, a->nr_held);
	a->held = NULL;
	a->nr_held = 0;
	holder_drop(d, a);          /* its sockets are closed when it answers */
	a->state = APP_ASLEEP;
	daemon_save(d, a);
	pthread_mutex_unlock(&d->lock);
	rc = box_sleep(&b);
	pthread_mutex_lock(&d->lock);
	if (rc < 0)                 /* its revival makes the box again */
		daemon_log(a->spec.name, "error: %s", err_msg());
	daemon_log(a->spec.name, "asleep after %lld ms napping (%s)", (long long)(mono_ms() - since),
		   trigger);
	return 0;
}

int asleep_pressure(void)
{
	const char *env = getenv("PICOCENTER_PRESSURE_PCT");
	long total = 0, avail = 0, pct = env ? atol(env) : PRESSURE_AVAIL_PCT;
	char buf[4096], *p;
	ssize_t n = read_small("/proc/meminfo", buf, sizeof(buf) - 1);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if ((p = strstr(buf, "MemTotal:")))
		total = atol(p + 9);
	if ((p = strstr(buf, "MemAvailable:")))
		avail = atol(p + 13);
	return total > 0 && avail * 100 < total * pct;
}

enum asleep_want asleep_want(struct daemon *d, const struct app *a, int pressure)
{
	if (a->busy)
		return ASLEEP_NOTHING;
	if ((a->state == APP_ASLEEP || a->state == APP_FAILED) && a->sleep_addr && d->hold_ok &&
	    hold_count(&d->hold, a->sleep_addr) > 0)
		return ASLEEP_REVIVE;       /* a packet is held for it */
	if (a->state != APP_NAPPING || !runtime_of(&a->spec)->box_of)
		return ASLEEP_NOTHING;
	if (mono_ms() - a->napping_since_ms >= a->spec.sleep_ms)
		return ASLEEP_SLEEP;
	return pressure ? ASLEEP_PRESSURE : ASLEEP_NOTHING;
}

/*
 * daemon.h - `picocenter serve`: the hosting daemon's state and the
 * operations its API offers.  One lock guards the app list, every app and
 * the registry; an operation that runs the engine marks its app busy and
 * runs without the lock (in an engine child, child.h), so that many apps
 * swap at once.  See docs/serve.md.
 */
#ifndef PC_WORKER_DAEMON_H
#define PC_WORKER_DAEMON_H

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include "box/hold.h"
#include "worker/app.h"
#include "worker/metrics.h"
#include "worker/registry.h"
#include "worker/runtime.h"

#define APP_LOG_CAP (1024 * 1024)   /* bytes kept per log file (two files) */

struct api;
struct daemon;

struct daemon_opts {
	const char *state_dir;
	const char *store_url;      /* NULL: file://STATE_DIR/store */
	const char *listen;         /* ADDR:PORT for the API over TCP, or NULL */
	const char *bridge;         /* new boxes' host bridge (NULL: the box default) */
	const char *subnet;         /* their subnet, A.B.C.D/N (NULL: the default) */
	const char *subnet6;        /* their IPv6 subnet, PREFIX/N or none (NULL: the default) */
	int chunk_cache;            /* keep the chunks of images read and written
	                               in DIR/cache (RUNTIME_CACHE_MAX bytes) */
	/* Runs in a thread of its own beside the watch loop, from when the
	 * apps are found again until d->stop (picocenter worker's link to
	 * its hub; daemon_stop ends the daemon).  NULL: none. */
	void (*agent)(struct daemon *d, void *arg);
	void *agent_arg;
	/* The API (api/server.h), started once the apps are found again and
	 * stopped before the daemon ends: its caller's, so that the daemon
	 * does not depend on what serves it. */
	int (*api_start)(struct daemon *d, const char *unix_path, const char *listen,
			 struct api **out);
	void (*api_stop)(struct api *api);
};

struct daemon {
	char dir[PATH_MAX - 128];
	char store_url[PATH_MAX];
	char box_dir[PATH_MAX];     /* DIR/boxes: the boxed apps' boxes */
	char bridge[16];            /* --bridge ("" default) */
	char subnet[32];            /* --subnet ("" default) */
	char subnet6[64];           /* --subnet6 ("" default) */
	char cache_dir[PATH_MAX];   /* the chunk cache, "" none */
	struct registry *reg;
	pthread_mutex_t lock;
	pthread_cond_t changed;     /* an app stopped being busy */
	struct app *apps;
	struct metrics m;
	int wake[2];                /* wakes the watch loop */
	volatile sig_atomic_t stop;
	int lock_fd;
	struct box_hold hold;       /* packets held for asleep apps (asleep.c) */
	int hold_ok;                /* hold is open */
	pid_t holder_pid;           /* the custody holder (holder.h), 0: none */
	pthread_mutex_t holder_mu;  /* one holder start at a time */
};

/* run.c: run the daemon until it is stopped. */
int daemon_run(const struct daemon_opts *opts);

/* One line to stderr: "TIME app NAME: text". */
void daemon_log(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ask the daemon to stop, as SIGTERM does. */
void daemon_stop(struct daemon *d);
/* Wake the watch loop (its set of watched sockets changed). */
void daemon_wake(struct daemon *d);

/* Paths of an app's files: DIR/apps/NAME/what. */
void app_path(const struct daemon *d, const char *name, const char *what, char *buf, size_t len);
struct app *daemon_find(struct daemon *d, const char *name);
/* The box dir for a's runtime (NULL for a plain app). */
const char *app_box_dir(const struct daemon *d, const struct app *a);
/* Learn a boxed app's address and veth from its box record (lock held;
 * a failure is logged). */
void app_load_box(struct daemon *d, struct app *a);
/* Save a's row (lock held); a failure is logged. */
void daemon_save(struct daemon *d, struct app *a);
int64_t mono_ms(void);
int64_t wall_ms(void);

/* The API's operations.  Each returns an HTTP status; *out is the answer's
 * JSON (or NULL), or the error is err_msg(). */
int op_create(struct daemon *d, struct app_spec *spec, json_t **out);
int op_list(struct daemon *d, json_t **out);
int op_inspect(struct daemon *d, const char *name, json_t **out);
int op_remove(struct daemon *d, const char *name);
int op_swap_out(struct daemon *d, const char *name, json_t **out);
int op_swap_in(struct daemon *d, const char *name, json_t **out);
/* Apps handed between daemons through a shared store (picocenter worker).
 * Let go: the app is forgotten here (tree, holder, box, files), its image
 * kept; with save, a running app is swapped out first (409, and it keeps
 * running, if that fails), *image_ms the wall-clock time of that image,
 * *timer_due_ms when its image's earliest timer is due if it was swapped
 * out already (0: none, or it ran until now).
 * Adopt: an app whose image another daemon stored is revived here from
 * the store now (trigger as its swap-in's; box_addr: its box's address
 * there, kept here when free, 0 unknown); a failure leaves nothing.  With
 * timer_due_ms (> 0) its image's timers run on for the time it was
 * stored and it is revived when the earliest is due; with later, a boxed
 * app is not revived now: it stays asleep, its box made ahead and its
 * packets held, until a packet, a wake (op_wake) or that timer.
 * Wake: a napping or asleep app starts its swap-in (not waited for). */
int op_let_go(struct daemon *d, const char *name, int save, int64_t *image_ms,
	      int64_t *timer_due_ms);
int op_adopt(struct daemon *d, struct app_spec *spec, int64_t image_ms, int64_t timer_due_ms,
	     uint32_t box_addr, const char *trigger, int later);
int op_wake(struct daemon *d, const char *name, const char *trigger);
/* 200 if the app exists; fills its log path. */
int op_log_path(struct daemon *d, const char *name, char *buf, size_t len);

/* life.c: with the lock held and a->busy set by the caller; return with
 * the lock held (it is dropped while the engine runs).  Clear busy after. */
int life_swap_out(struct daemon *d, struct app *a, const char *trigger);
int life_swap_in(struct daemon *d, struct app *a, const char *trigger);
/* Start an operation on a in its own thread (lock held; sets a->busy). */
enum life_op { LIFE_SWAP_OUT = 0, LIFE_SWAP_IN = 1, LIFE_SLEEP = 2 };
void life_spawn(struct daemon *d, struct app *a, enum life_op op, const char *trigger);
/* Give up a's busy mark (lock held). */
void life_release(struct daemon *d, struct app *a);
/* Borrow copies of a's held sockets to watch (lock held); if the holder
 * does not have them, they are lost (life_held_lost). */
void life_watch(struct daemon *d, struct app *a);
/* Lock held: a's held sockets are gone (why: the cause).  Its next
 * revival makes them anew from the image; a napping boxed app falls
 * asleep at once (its packets are held meanwhile), a plain one is
 * revived at once (life_revive_lost) so that its ports listen again. */
void life_held_lost(struct daemon *d, struct app *a, const char *why);
/* Lock held: revive the plain napping apps whose held sockets are lost. */
void life_revive_lost(struct daemon *d);

/* After a restart: settle an app whose swap was under way (lock held). */
void life_recover_op(struct daemon *d, struct app *a);

/* asleep.c: the asleep tier.  asleep_init at start (reads the queue a
 * previous daemon used), asleep_stop at exit; the rest with the lock held. */
int asleep_init(struct daemon *d);
void asleep_stop(struct daemon *d);
/* The fd to poll for held packets, -1 if none. */
int asleep_fd(const struct daemon *d);
/* Read the held packets: each is logged and counted for its app, and the
 * watch loop woken, which revives the app (asleep_want). */
void asleep_packets(struct daemon *d);
/* What the watch loop should do with a: revive it (a packet held for an
 * asleep or failed app), put it to sleep (napping past its sleep time,
 * or pressure: the host is short of memory), or nothing. */
enum asleep_want { ASLEEP_NOTHING, ASLEEP_REVIVE, ASLEEP_SLEEP, ASLEEP_PRESSURE };
enum asleep_want asleep_want(struct daemon *d, const struct app *a, int pressure);
/* 1 if MemAvailable is below PRESSURE_AVAIL_PCT (or
 * PICOCENTER_PRESSURE_PCT, for tests) percent of MemTotal. */
int asleep_pressure(void);
/* After a revival of an asleep app: its held packets go on (ok) or are
 * dropped; ok also stops holding its address. */
void asleep_woken(struct daemon *d, struct app *a, int ok);
/* An asleep app with no box here (op_adopt, a busy): its box made ahead of
 * its image (at box_addr if free: where it ran before; 0 any), its packets
 * held from now until its revival (asleep_woken). */
int asleep_ahead(struct daemon *d, struct app *a, uint32_t box_addr);
/* app rm of an asleep app: drop its packets, stop holding its address. */
void asleep_forget(struct daemon *d, struct app *a);
/* The LIFE_SLEEP operation (a busy and napping; trigger: sleep or
 * pressure): 0 asleep, 1 it stays napping, -1 error. */
int life_sleep(struct daemon *d, struct app *a, const char *trigger);

/* watch.c: the loop: revival on traffic and timers, idle, exits, logs. */
void watch_loop(struct daemon *d);
/* recover.c: apps of the registry, found again after a (re)start. */
int recover_apps(struct daemon *d);

#endif

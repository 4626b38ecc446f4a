/*
 * worker_sync.c - `picocenter worker`'s link to its hub, the agent of the
 * serve daemon it runs (worker.h): heartbeats in a thread of their own;
 * a long-poll of GET /workers/NAME/sync brings the apps placed on this
 * worker or held by it, and each is brought in line by an action in a
 * thread of its own (started fresh, revived from the shared store, let
 * go to the store, removed, woken for a DNS query); the apps' states and
 * image times go back with PUT /workers/NAME/apps/APP.  An app this
 * worker cannot hand over (its swap-out fails) stays here, and the hub
 * moves its record back.  Tenants' requests through the hub (swap-out,
 * swap-in, logs) come with the sync and are answered with PUT
 * /workers/NAME/asks/ID.
 *
 * An app held by another worker that is up is not touched until that
 * worker lets it go (a move); one whose worker went down is revived from
 * its last image (the hub has cleared its holder).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/worker.h"
#include "common/err.h"
#include "hub/request.h"
#include "worker/daemon.h"

#define BEAT_MIN_MS 100
#define BEAT_MAX_MS 5000
#define SYNC_WAIT_MS 1000      /* the longest a long-poll waits */
#define RETRY_MS 5000          /* after a failed action on an app */

/* What the link knows of one app. */
struct wapp {
	char name[APP_NAME_MAX + 1];
	int busy;                  /* an action runs for it */
	char reported[HUB_STATE_MAX];
	int64_t reported_img;
	int64_t woke_ms;           /* the last DNS wake acted on */
	int64_t retry_ms;          /* no new action before (monotonic) */
	char asked[2 * HUB_ASKS_MAX][HUB_ASK_ID_LEN + 1];   /* requests taken */
	unsigned next_asked;
	int64_t cached_ms;         /* its image went through the chunk cache then
	                              (held here), 0 never or removed */
};

struct wlink {
	struct worker_opts *o;
	struct daemon *d;
	pthread_mutex_t lock;
	struct wapp *apps;
	size_t n, cap;
	long long timeout_ms;      /* the hub's worker timeout */
	int asks_running;          /* request threads (lock) */
	unsigned cache_changes;    /* the apps cached changed (lock) */
};

enum act { ACT_CREATE, ACT_ADOPT, ACT_LET_GO, ACT_ORPHAN };

struct action {
	struct wlink *l;
	enum act what;
	struct placed_app p;       /* CREATE, ADOPT: the app; else its name */
	char name[APP_NAME_MAX + 1];
	int save;                  /* LET_GO: swap out first */
	const char *trigger;
};

static void sleep_ms(long long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- the table of apps (lock held) ---- */

static struct wapp *wapp_get(struct wlink *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->apps[i].name, name))
			return &l->apps[i];
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct wapp *a = realloc(l->apps, cap * sizeof(*a));

		if (!a)
			return NULL;
		l->apps = a;
		l->cap = cap;
	}
	memset(&l->apps[l->n], 0, sizeof(l->apps[0]));
	snprintf(l->apps[l->n].name, sizeof(l->apps[0].name), "%s", name);
	return &l->apps[l->n++];
}

/* ---- talking to the hub ---- */

/* The app's box address here, if it has a box (not a host's loopback). */
static void add_box_addr(struct wlink *l, const char *app, json_t *o)
{
	json_t *v = NULL;
	const char *addr;

	if (op_inspect(l->d, app, &v) == 200 &&
	    (addr = json_string_value(json_object_get(v, "address"))) && strncmp(addr, "127.", 4) &&
	    strchr(addr, '.'))
		json_object_set_new(o, "box_addr", json_string(addr));
	json_decref(v);
}

/* PUT /workers/ME/apps/APP: held in state (NULL: let go), when its
 * image's earliest timer is due (0: none), with why a hand-over failed
 * (NULL: none); a refusal (the app is not ours now) is logged only. */
static void report_why(struct wlink *l, const char *app, const char *state, int64_t image_ms,
		       int64_t timer_due_ms, const char *move_failed)
{
	struct client_reply r = { 0 };
	json_t *o = json_pack("{s:b, s:I}", "held", state != NULL, "image_ms", (json_int_t)image_ms);
	char path[256], *body;

	if (o && timer_due_ms > 0)
		json_object_set_new(o, "timer_due_ms", json_integer(timer_due_ms));
	if (o && state)
		json_object_set_new(o, "state", json_string(state));
	if (o && state)
		add_box_addr(l, app, o);
	if (o && move_failed)
		json_object_set_new(o, "move_failed", json_string(move_failed));
	body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	snprintf(path, sizeof(path), "/workers/%s/apps/%s", l->o->name, app);
	if (!body)
		worker_log(l->o, "error: report on app %s: out of memory", app);
	else if (client_request(&l->o->hub, "PUT", path, body, &r) < 0)
		worker_log(l->o, "error: report on app %s: %s", app, err_msg());
	else if (r.status != 200 && r.status != 409)
		worker_log(l->o, "error: report on app %s: the hub answered %ld: %.200s", app, r.status,
			   r.body ? r.body : "");
	free(body);
	free(r.body);
}

static void report(struct wlink *l, const char *app, const char *state, int64_t image_ms,
		   int64_t timer_due_ms)
{
	report_why(l, app, state, image_ms, timer_due_ms, NULL);
}

/* A removed app's image is gone: no more in the cache's list. */
static void uncache(struct wlink *l, const char *name)
{
	struct wapp *w;

	pthread_mutex_lock(&l->lock);
	w = wapp_get(l, name);
	if (w && w->cached_ms) {
		w->cached_ms = 0;
		l->cache_changes++;
	}
	pthread_mutex_unlock(&l->lock);
}

/* The apps whose images went through the chunk cache, newest first, as a
 * JSON list (HUB_CACHED_MAX at most; the cache may have dropped some of
 * their chunks since: a hint for placement).  malloc'd, NULL: none fit. */
static char *cached_list(struct wlink *l)
{
	json_t *list = json_array();
	char *out;

	pthread_mutex_lock(&l->lock);
	while (list && json_array_size(list) < HUB_CACHED_MAX) {
		struct wapp *best = NULL;

		for (size_t i = 0; i < l->n; i++) {
			struct wapp *w = &l->apps[i];
			int listed = 0;

			for (size_t j = 0; j < json_array_size(list); j++)
				listed |= !strcmp(json_string_value(json_array_get(list, j)), w->name);
			if (w->cached_ms && !listed && (!best || w->cached_ms > best->cached_ms))
				best = w;
		}
		if (!best)
			break;
		json_array_append_new(list, json_string(best->name));
	}
	pthread_mutex_unlock(&l->lock);
	out = list ? json_dumps(list, JSON_COMPACT) : NULL;
	json_decref(list);
	return out;
}

/* An app's record as the hub has it: 0, 1 (no such app) or -1. */
static int hub_app(struct wlink *l, const char *app, struct placed_app *p)
{
	struct client_reply r = { 0 };
	json_error_t jerr;
	char path[256];
	json_t *o;
	int rc;

	snprintf(path, sizeof(path), "/workers/%s/apps/%s", l->o->name, app);
	if (client_request(&l->o->hub, "GET", path, NULL, &r) < 0) {
		free(r.body);
		return -1;
	}
	if (r.status == 404) {
		free(r.body);
		return 1;
	}
	o = r.status == 200 && r.body ? json_loads(r.body, 0, &jerr) : NULL;
	free(r.body);
	rc = o ? hub_parse_placed(o, p) : err_set("the hub answered %ld", r.status);
	json_decref(o);
	return rc;
}

/* ---- actions, each in a thread of its own ---- */

/* The app's state, image time and (swapped out) when its image's
 * earliest timer is due here: 0, or 1 when it is not here. */
static int local_state(struct daemon *d, const char *name, char *state, int64_t *image_ms,
		       int64_t *timer_due_ms)
{
	json_t *v = NULL;

	if (op_inspect(d, name, &v) != 200)
		return 1;
	snprintf(state, HUB_STATE_MAX, "%s", json_string_value(json_object_get(v, "state")));
	*image_ms = json_integer_value(json_object_get(v, "image_at"));
	*timer_due_ms = json_integer_value(json_object_get(v, "timer_due"));
	json_decref(v);
	return 0;
}

/* DNS wakes for name noted until now are done with: it runs, or was
 * swapped out on request (an older wake must not revive it). */
static void wakes_done(struct wlink *l, const char *name)
{
	struct wapp *w;

	pthread_mutex_lock(&l->lock);
	w = wapp_get(l, name);
	if (w && w->woke_ms < wall_ms())
		w->woke_ms = wall_ms();
	pthread_mutex_unlock(&l->lock);
}

static void report_local(struct wlink *l, const char *name)
{
	char state[HUB_STATE_MAX];
	int64_t img, due;

	if (local_state(l->d, name, state, &img, &due) == 0)
		report(l, name, state, img, due);
}

static int act_create(struct action *a)
{
	json_t *out = NULL;
	int st = op_create(a->l->d, &a->p.spec, &out);

	json_decref(out);
	if (st != 201)
		return -1;
	worker_log(a->l->o, "app %s: started", a->name);
	wakes_done(a->l, a->name);
	report_local(a->l, a->name);
	return 0;
}

/* An app whose image another worker stored, taken over here: asleep, its
 * box made ahead and its packets held, then reported (the hub holds a DNS
 * answer for it until then: docs/hub.md); revived at once if DNS asked
 * for it, else on its first packet or timer; revived at once too when it
 * ran where it was. */
static int act_adopt(struct action *a)
{
	const struct placed_app *p = &a->p;
	int woken = !strcmp(a->trigger, "dns");
	int later = woken || p->timer_due_ms > 0 || p->asleep;
	char state[HUB_STATE_MAX] = "";
	int64_t img, due;

	if (op_adopt(a->l->d, &a->p.spec, p->image_ms, p->timer_due_ms, p->box_addr, a->trigger,
		     later) != 200)
		return -1;
	if (woken && local_state(a->l->d, a->name, state, &img, &due) == 0 &&
	    !strcmp(state, "asleep")) {
		wakes_done(a->l, a->name);
		report(a->l, a->name, state, img, due);    /* its packets are held now */
		op_wake(a->l->d, a->name, "dns");
		worker_log(a->l->o, "app %s: taken over and woken by DNS (its image of %lld)",
			   a->name, (long long)p->image_ms);
		return 0;
	}
	if (later && local_state(a->l->d, a->name, state, &img, &due) == 0 &&
	    !strcmp(state, "asleep") && due > 0)
		worker_log(a->l->o, "app %s: taken over asleep (its image of %lld); its timer is due "
			   "in %lld ms", a->name, (long long)p->image_ms, (long long)(due - wall_ms()));
	else if (later && !strcmp(state, "asleep"))
		worker_log(a->l->o, "app %s: taken over asleep (its image of %lld)", a->name,
			   (long long)p->image_ms);
	else
		worker_log(a->l->o, "app %s: revived from the store (its image of %lld)", a->name,
			   (long long)p->image_ms);
	wakes_done(a->l, a->name);
	report_local(a->l, a->name);
	return 0;
}

/* A move this worker could not hand over (the app stays here, err_msg()
 * says why): the hub moves its record back. */
static void hand_over_failed(struct action *a)
{
	char state[HUB_STATE_MAX], why[HUB_MOVE_ERR_MAX + 1];
	int64_t img, due;

	snprintf(why, sizeof(why), "%s", err_msg());
	for (char *p = why; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (!why[0])
		snprintf(why, sizeof(why), "no reason given");
	if (local_state(a->l->d, a->name, state, &img, &due) == 0)
		report_why(a->l, a->name, state, img, due, why);
	err_set("%s", why);
}

static int act_let_go(struct action *a)
{
	int64_t img = 0, due = 0;
	int st = op_let_go(a->l->d, a->name, a->save, &img, &due);

	if (st != 200 && st != 404) {
		if (a->save)
			hand_over_failed(a);
		return -1;
	}
	if (a->save) {
		worker_log(a->l->o, "app %s: swapped out and let go", a->name);
		report(a->l, a->name, NULL, img, due);
	} else {
		worker_log(a->l->o, "app %s: dropped (another worker has it now)", a->name);
	}
	return 0;
}

/* A local app the hub did not list: removed (its image too), or now
 * another worker's (ours is stale). */
static int act_orphan(struct action *a)
{
	struct placed_app p;
	int rc = hub_app(a->l, a->name, &p);

	if (rc < 0)
		return -1;
	if (rc == 1) {
		if (op_remove(a->l->d, a->name) != 200)
			return -1;
		worker_log(a->l->o, "app %s: removed", a->name);
		uncache(a->l, a->name);
		return 0;
	}
	rc = strcmp(p.worker, a->l->o->name) && strcmp(p.holder, a->l->o->name);
	spec_free(&p.spec);
	if (!rc)
		return 0;                  /* ours after all: the list was older */
	a->save = 0;
	return act_let_go(a);
}

static void *action_thread(void *arg)
{
	struct action *a = arg;
	struct wlink *l = a->l;
	struct wapp *w;
	int rc;

	switch (a->what) {
	case ACT_CREATE: rc = act_create(a); break;
	case ACT_ADOPT: rc = act_adopt(a); break;
	case ACT_ORPHAN: rc = act_orphan(a); break;
	default: rc = act_let_go(a); break;
	}
	if (rc < 0) {
		worker_log(l->o, "app %s: error: %s", a->name, err_msg());
		if (a->what == ACT_CREATE || a->what == ACT_ADOPT)
			report(l, a->name, "failed", a->p.image_ms, 0);
	}
	pthread_mutex_lock(&l->lock);
	w = wapp_get(l, a->name);
	if (w) {
		w->busy = 0;
		w->reported[0] = '\0';        /* report again */
		if (rc < 0)
			w->retry_ms = mono_ms() + RETRY_MS;
	}
	pthread_mutex_unlock(&l->lock);
	if (a->what == ACT_CREATE || a->what == ACT_ADOPT)
		spec_free(&a->p.spec);
	free(a);
	return NULL;
}

/* Start an action on w (lock held; w not busy).  p is taken (its spec
 * moves into the action) for CREATE and ADOPT. */
static void start(struct wlink *l, struct wapp *w, enum act what, struct placed_app *p, int save,
		  const char *trigger)
{
	struct action *a = calloc(1, sizeof(*a));
	pthread_attr_t attr;
	pthread_t t;

	if (!a)
		return;
	a->l = l;
	a->what = what;
	a->save = save;
	a->trigger = trigger;
	snprintf(a->name, sizeof(a->name), "%s", w->name);
	if (p && (what == ACT_CREATE || what == ACT_ADOPT)) {
		a->p = *p;
		memset(&p->spec, 0, sizeof(p->spec));
	}
	w->busy = 1;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, action_thread, a) != 0) {
		w->busy = 0;
		if (what == ACT_CREATE || what == ACT_ADOPT)
			spec_free(&a->p.spec);
		free(a);
		worker_log(l->o, "app %s: error: cannot start a thread", w->name);
	}
	pthread_attr_destroy(&attr);
}

/* ---- tenants' requests (swap-out, swap-in, logs), each in a thread ---- */

#define ASK_LOG_TAIL (64 * 1024)   /* bytes of the log an answer carries */

struct ask {
	struct wlink *l;
	char app[APP_NAME_MAX + 1];
	struct placed_ask k;
};

/* Replace what is not UTF-8 (or a control character but tab and newline)
 * with '?': the answer goes as a JSON string. */
static void make_text(char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		size_t j = 1;

		while (len > 1 && j < len && i + j < n && ((unsigned char)s[i + j] >> 6) == 2)
			j++;
		if (len == 0 || j != len || (len == 1 && c < 0x20 && c != '\n' && c != '\t') ||
		    c == 0x7f) {
			s[i++] = '?';
			continue;
		}
		i += len;
	}
}

/* The last ASK_LOG_TAIL bytes of the app's log as text: 200, or 404. */
static int log_tail(struct daemon *d, const char *app, char **text)
{
	char path[PATH_MAX], *buf;
	json_t *out;
	ssize_t n;
	off_t size;
	int fd;

	if (op_log_path(d, app, path, sizeof(path)) != 200)
		return 404;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		*text = strdup("");
		return *text ? 200 : (err_set("out of memory"), 500);
	}
	if (fd < 0)
		return err_sys("open %s", path), 500;
	size = lseek(fd, 0, SEEK_END);
	buf = malloc(ASK_LOG_TAIL + 1);
	n = size < 0 || !buf ? -1 : pread(fd, buf, ASK_LOG_TAIL, size > ASK_LOG_TAIL ? size - ASK_LOG_TAIL : 0);
	close(fd);
	if (n < 0) {
		free(buf);
		return err_sys("read %s", path), 500;
	}
	buf[n] = '\0';
	make_text(buf, (size_t)n);
	if (!json_is_string(out = json_string(buf)))     /* overlong, surrogates: ASCII only */
		for (char *p = buf; *p; p++)
			*p = (unsigned char)*p >= 0x80 ? '?' : *p;
	json_decref(out);
	*text = buf;
	return 200;
}

/* PUT /workers/ME/asks/ID with the request's answer. */
static void answer_ask(struct wlink *l, const struct ask *k, int status, const char *text)
{
	struct client_reply r = { 0 };
	json_t *o = json_pack("{s:i, s:s}", "status", status, "answer", text);
	char path[256], *body = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	snprintf(path, sizeof(path), "/workers/%s/asks/%s", l->o->name, k->k.id);
	if (!body)
		worker_log(l->o, "error: app %s: the answer to %s: out of memory", k->app, k->k.op);
	else if (client_request(&l->o->hub, "PUT", path, body, &r) < 0)
		worker_log(l->o, "error: app %s: the answer to %s: %s", k->app, k->k.op, err_msg());
	else if (r.status != 200)
		worker_log(l->o, "app %s: the hub took no answer to %s (%ld: %.200s)", k->app,
			   k->k.op, r.status, r.body ? r.body : "");
	free(body);
	free(r.body);
}

static void *ask_thread(void *arg)
{
	struct ask *k = arg;
	struct wlink *l = k->l;
	json_t *out = NULL;
	char *text = NULL;
	int status;

	if (!strcmp(k->k.op, "logs"))
		status = log_tail(l->d, k->app, &text);
	else
		status = !strcmp(k->k.op, "swap-out") ? op_swap_out(l->d, k->app, &out)
						      : op_swap_in(l->d, k->app, &out);
	json_decref(out);
	if (status != 200 && !text)
		text = strdup(err_msg()[0] ? err_msg() : "failed");
	else if (strcmp(k->k.op, "logs")) {
		wakes_done(l, k->app);
		report_local(l, k->app);     /* the hub's record before the answer */
	}
	worker_log(l->o, "app %s: %s asked through the hub: %d", k->app, k->k.op, status);
	answer_ask(l, k, status, text ? text : "out of memory");
	free(text);
	pthread_mutex_lock(&l->lock);
	l->asks_running--;
	pthread_mutex_unlock(&l->lock);
	free(k);
	return NULL;
}

/* Start the requests of p not taken yet (lock held). */
static void take_asks(struct wlink *l, struct wapp *w, const struct placed_app *p)
{
	for (size_t i = 0; i < p->nasks; i++) {
		struct ask *k;
		pthread_attr_t attr;
		pthread_t t;
		int seen = 0;

		for (size_t j = 0; j < sizeof(w->asked) / sizeof(w->asked[0]); j++)
			seen |= !strcmp(w->asked[j], p->asks[i].id);
		if (seen || !(k = calloc(1, sizeof(*k))))
			continue;
		snprintf(w->asked[w->next_asked++ % (sizeof(w->asked) / sizeof(w->asked[0]))],
			 sizeof(w->asked[0]), "%s", p->asks[i].id);
		k->l = l;
		snprintf(k->app, sizeof(k->app), "%s", w->name);
		k->k = p->asks[i];
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, ask_thread, k) == 0)
			l->asks_running++;
		else {
			worker_log(l->o, "app %s: error: cannot start a thread for %s", k->app, k->k.op);
			free(k);
		}
		pthread_attr_destroy(&attr);
	}
}

/* ---- bringing the apps in line ---- */

/* An app placed here (lock held). */
static void placed_here(struct wlink *l, struct wapp *w, struct placed_app *p, const char *state)
{
	const char *me = l->o->name;

	if (state) {                   /* it runs here: a DNS query wakes it */
		if (p->wake_ms > w->woke_ms) {
			w->woke_ms = p->wake_ms;
			if (!strcmp(state, "napping") || !strcmp(state, "asleep"))
				op_wake(l->d, w->name, "dns");
		}
		return;
	}
	if (mono_ms() < w->retry_ms)
		return;
	if (p->holder[0] && strcmp(p->holder, me) && p->holder_up)
		return;                    /* its worker is letting it go */
	w->woke_ms = p->wake_ms;
	/* a wake older than its image was served before it was swapped out */
	if (p->image_ms > 0)
		start(l, w, ACT_ADOPT, p, 0, p->wake_ms > p->image_ms ? "dns" : "hub");
	else
		start(l, w, ACT_CREATE, p, 0, "hub");
}

/* One app of the hub's answer (lock held). */
static void bring_in_line(struct wlink *l, const json_t *entry, json_t *local)
{
	const char *me = l->o->name;
	struct placed_app p;
	struct wapp *w;
	json_t *here;

	if (hub_parse_placed(entry, &p) < 0) {
		worker_log(l->o, "error: %s", err_msg());
		return;
	}
	here = json_object_get(local, p.spec.name);
	if (here)
		json_object_set_new(here, "listed", json_true());
	w = wapp_get(l, p.spec.name);
	if (w && here)
		take_asks(l, w, &p);
	if (w && !w->busy) {
		if (!strcmp(p.worker, me))
			placed_here(l, w, &p, here ? json_string_value(json_object_get(here, "state"))
						   : NULL);
		else if (here && mono_ms() >= w->retry_ms)   /* moved away: ours to hand over, or stale */
			start(l, w, ACT_LET_GO, NULL, !strcmp(p.holder, me), NULL);
		else if (!strcmp(p.holder, me))
			report(l, p.spec.name, NULL, p.image_ms, p.timer_due_ms);   /* lost here: not ours */
	}
	spec_free(&p.spec);
}

/* The apps this daemon has: {name: {"state", "image_at"}}. */
static json_t *local_apps(struct daemon *d)
{
	json_t *list = NULL, *by = json_object();

	if (!by || op_list(d, &list) != 200) {
		json_decref(by);
		return NULL;
	}
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *v = json_array_get(list, i);
		const char *name = json_string_value(json_object_get(v, "name"));

		if (name)
			json_object_set(by, name, v);
	}
	json_decref(list);
	return by;
}

/* Report each local app whose state or image changed since its last
 * report; act on the apps the hub did not list (lock held). */
static void after_round(struct wlink *l, json_t *local)
{
	const char *name;
	json_t *v;

	json_object_foreach(local, name, v) {
		const char *state = json_string_value(json_object_get(v, "state"));
		int64_t img = json_integer_value(json_object_get(v, "image_at")), due;
		struct wapp *w = wapp_get(l, name);

		if (w && !w->cached_ms) {      /* held here: its chunks pass the cache */
			w->cached_ms = mono_ms();
			l->cache_changes++;
		}
		if (!w || w->busy || !state)
			continue;
		if (!json_is_true(json_object_get(v, "listed"))) {
			start(l, w, ACT_ORPHAN, NULL, 0, NULL);
			continue;
		}
		if (strcmp(w->reported, state) || w->reported_img != img) {
			char now[HUB_STATE_MAX];

			snprintf(w->reported, sizeof(w->reported), "%s", state);
			w->reported_img = img;
			pthread_mutex_unlock(&l->lock);
			/* the state now, not the round's: a request's thread may
			 * have reported a newer one meanwhile */
			if (local_state(l->d, name, now, &img, &due) == 0)
				report(l, name, now, img, due);
			pthread_mutex_lock(&l->lock);
		}
	}
}

/* One long-poll: 0 with the new version in *seen, or -1. */
static int sync_once(struct wlink *l, uint64_t *seen)
{
	struct client_reply r = { 0 };
	json_t *ans, *apps, *local;
	json_error_t jerr;
	char path[256];

	snprintf(path, sizeof(path), "/workers/%s/sync?seen=%llu&wait=%d", l->o->name,
		 (unsigned long long)*seen, SYNC_WAIT_MS);
	if (client_request(&l->o->hub, "GET", path, NULL, &r) < 0) {
		free(r.body);
		return -1;
	}
	ans = r.status == 200 && r.body ? json_loads(r.body, 0, &jerr) : NULL;
	free(r.body);
	apps = json_object_get(ans, "apps");
	if (!json_is_array(apps) || !json_is_integer(json_object_get(ans, "version"))) {
		json_decref(ans);
		return err_set("the hub answered %ld, not the apps", r.status);
	}
	*seen = (uint64_t)json_integer_value(json_object_get(ans, "version"));
	local = local_apps(l->d);
	if (local) {
		pthread_mutex_lock(&l->lock);
		for (size_t i = 0; i < json_array_size(apps); i++)
			bring_in_line(l, json_array_get(apps, i), local);
		after_round(l, local);
		pthread_mutex_unlock(&l->lock);
	}
	json_decref(local);
	json_decref(ans);
	return 0;
}

/* ---- heartbeats ---- */

static void *beat_thread(void *arg)
{
	struct wlink *l = arg;
	long long timeout = 3 * BEAT_MAX_MS, interval;
	int reachable = -1, rc;

	unsigned sent = 0, changes;

	while (!l->d->stop) {
		char *cached = NULL;

		pthread_mutex_lock(&l->lock);
		changes = l->cache_changes;
		pthread_mutex_unlock(&l->lock);
		if (reachable != 1 || changes != sent)    /* new, or news */
			cached = cached_list(l);
		rc = worker_beat(l->o, cached, &timeout);
		if (rc == 0 && cached)
			sent = changes;
		free(cached);
		if (rc > 0) {
			worker_log(l->o, "error: %s", err_msg());
			l->o->refused = 1;
			daemon_stop(l->d);
			break;
		}
		if (rc < 0 && reachable != 0)
			worker_log(l->o, "error: heartbeat: %s", err_msg());
		else if (rc == 0 && reachable != 1)
			worker_log(l->o, "registered (the hub's timeout: %lld ms)", timeout);
		reachable = rc == 0;
		interval = timeout / 3;
		interval = interval < BEAT_MIN_MS ? BEAT_MIN_MS
						  : (interval > BEAT_MAX_MS ? BEAT_MAX_MS : interval);
		for (long long t = 0; t < (rc == 0 ? interval : 5 * BEAT_MIN_MS) && !l->d->stop;
		     t += 50)
			sleep_ms(50);
	}
	return NULL;
}

/* Actions still running when the daemon stops finish first. */
static void wait_actions(struct wlink *l)
{
	for (;;) {
		int busy = 0;

		pthread_mutex_lock(&l->lock);
		for (size_t i = 0; i < l->n; i++)
			busy |= l->apps[i].busy;
		busy |= l->asks_running > 0;
		pthread_mutex_unlock(&l->lock);
		if (!busy)
			return;
		sleep_ms(20);
	}
}

void worker_agent(struct daemon *d, void *arg)
{
	struct wlink l = { .o = arg, .d = d };
	uint64_t seen = 0;
	int failing = 0;
	pthread_t beat;

	pthread_mutex_init(&l.lock, NULL);
	if (pthread_create(&beat, NULL, beat_thread, &l) != 0) {
		worker_log(l.o, "error: cannot start the heartbeat's thread");
		daemon_stop(d);
		return;
	}
	while (!d->stop) {
		int rc = sync_once(&l, &seen);

		if (rc < 0 && !failing)
			worker_log(l.o, "error: the hub's apps: %s", err_msg());
		failing = rc < 0;
		if (rc < 0)
			sleep_ms(5 * BEAT_MIN_MS);
	}
	pthread_join(beat, NULL);
	wait_actions(&l);
	worker_log(l.o, "stopping");
	free(l.apps);
	pthread_mutex_destroy(&l.lock);
}

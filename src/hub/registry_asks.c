/*
 * registry_asks.c - what a tenant asks of the worker that holds an app
 * (swap it out, swap it in, its log): app_asks rows, each carried to that
 * worker by its sync, answered by it, read and removed by the hub that
 * took the request (see registry.h).  In the registry, not in a hub's
 * memory, so that the worker may wait on another hub.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/err.h"
#include "hub/registry_int.h"

/* The worker that holds the app of tenant, if it is up and the app is
 * placed there (not being moved). */
static int holder_row(void *arg, int ncols, const char *const *v)
{
	char *holder = arg;

	if (ncols < 3 || !v[0] || !v[1] || !v[2])
		return 1;
	if (v[0][0] && !strcmp(v[0], v[1]) && !strcmp(v[2], "up"))
		snprintf(holder, HUB_NAME_MAX + 1, "%s", v[0]);
	else
		holder[0] = '-';           /* found, not askable */
	return 1;
}

static int new_id(char *id)
{
	unsigned char b[HUB_ASK_ID_LEN / 2];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return err_sys("getrandom");
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(id + 2 * i, 3, "%02x", b[i]);
	return 0;
}

int hubreg_ask_create(struct hub_registry *r, const char *tenant, const char *app,
		      const char *op, int64_t now_ms, char *id)
{
	const char *p[] = { app, tenant };
	char holder[HUB_NAME_MAX + 1] = "", now[24];
	int rc;

	if (new_id(id) < 0)
		return -1;
	reg_fmt_i64(now, sizeof(now), now_ms);
	pthread_mutex_lock(&r->lock);
	rc = reg_exec(r, "SELECT COALESCE(r.holder, ''), a.worker, COALESCE(w.state, '') "
		     "FROM apps a LEFT JOIN app_runs r ON r.app = a.name LEFT JOIN workers w "
		     "ON w.name = r.holder WHERE a.name = $1 AND a.tenant = $2", 2, p,
		     holder_row, holder);
	if (rc == 0)
		rc = reg_outcome(HUBREG_NOTFOUND, "no such app");
	else if (rc > 0 && (!holder[0] || holder[0] == '-'))
		rc = reg_outcome(HUBREG_BUSY, "app %s is not held by a worker that is up (it is "
				 "starting, moving or being revived): try again", app);
	else if (rc > 0) {
		const char *q[] = { id, app, holder, op, now };

		rc = reg_exec(r, "INSERT INTO app_asks (id, app, worker, op, created_ms, status, "
			     "answer) VALUES ($1, $2, $3, $4, CAST($5 AS BIGINT), 0, '')", 5, q,
			     NULL, NULL);
		rc = rc < 0 ? rc : 0;
	}
	pthread_mutex_unlock(&r->lock);
	return rc < 0 ? -1 : rc;
}

struct ask_out {
	int found;
	int status;
	char *answer;
	char worker[HUB_NAME_MAX + 1];
};

static int ask_row(void *arg, int ncols, const char *const *v)
{
	struct ask_out *a = arg;

	if (ncols < 3 || !v[0] || !v[1] || !v[2] || a->found)
		return 1;
	a->found = 1;
	a->status = (int)reg_to_i64(v[0]);
	snprintf(a->worker, sizeof(a->worker), "%s", v[2]);
	a->answer = a->status ? strdup(v[1]) : NULL;
	return a->status && !a->answer ? -1 : 1;
}

int hubreg_ask_result(struct hub_registry *r, const char *id, int *status, char **answer,
		      char *worker)
{
	const char *p[] = { id };
	struct ask_out a = { 0 };
	int rc;

	pthread_mutex_lock(&r->lock);
	rc = reg_exec(r, "SELECT status, answer, worker FROM app_asks WHERE id = $1", 1, p,
		      ask_row, &a);
	pthread_mutex_unlock(&r->lock);
	if (rc < 0) {
		free(a.answer);
		return -1;
	}
	if (!a.found)
		return reg_outcome(HUBREG_NOTFOUND, "no such request");
	*status = a.status;
	*answer = a.answer;
	snprintf(worker, HUB_NAME_MAX + 1, "%s", a.worker);
	return 0;
}

int hubreg_ask_forget(struct hub_registry *r, const char *id)
{
	const char *p[] = { id };
	int rc;

	pthread_mutex_lock(&r->lock);
	rc = reg_exec(r, "DELETE FROM app_asks WHERE id = $1", 1, p, NULL, NULL);
	pthread_mutex_unlock(&r->lock);
	return rc < 0 ? -1 : 0;
}

int hubreg_ask_answer(struct hub_registry *r, const char *worker, const char *id, int status,
		      const char *answer)
{
	char st[24];
	const char *p[] = { id, worker, st, answer };
	int rc;

	reg_fmt_i64(st, sizeof(st), status);
	pthread_mutex_lock(&r->lock);
	rc = reg_exec(r, "UPDATE app_asks SET status = CAST($3 AS BIGINT), answer = $4 "
		     "WHERE id = $1 AND worker = $2 AND status = 0", 4, p, NULL, NULL);
	pthread_mutex_unlock(&r->lock);
	if (rc == 0)
		return reg_outcome(HUBREG_NOTFOUND, "no such request for worker %s (answered, "
				   "or its asker gave up)", worker);
	return rc < 0 ? -1 : 0;
}

static int pending_row(void *arg, int ncols, const char *const *v)
{
	if (ncols < 3 || !v[0] || !v[1] || !v[2])
		return 0;
	return json_array_append_new(arg, json_pack("{s:s, s:s, s:s}", "id", v[0], "app", v[1],
						    "op", v[2]));
}

int hubreg_ask_pending(struct hub_registry *r, const char *worker, json_t **out)
{
	const char *p[] = { worker };
	json_t *list = json_array();
	int rc;

	if (!list)
		return err_set("out of memory");
	pthread_mutex_lock(&r->lock);
	rc = reg_exec(r, "SELECT id, app, op FROM app_asks WHERE worker = $1 AND status = 0 "
		     "ORDER BY created_ms", 1, p, pending_row, list);
	pthread_mutex_unlock(&r->lock);
	if (rc < 0) {
		json_decref(list);
		return -1;
	}
	*out = list;
	return 0;
}

/*
 * registry.h - the daemon's app registry: one SQLite database in the state
 * directory (DIR/registry.db), one row per app (its name and a JSON
 * document, app.h's app_to_row), written whenever an app changes state.
 */
#ifndef PC_WORKER_REGISTRY_H
#define PC_WORKER_REGISTRY_H

#include <jansson.h>

struct registry;

int registry_open(const char *path, struct registry **out);
void registry_close(struct registry *r);
/* Insert or replace the row of app name. */
int registry_put(struct registry *r, const char *name, const json_t *row);
int registry_delete(struct registry *r, const char *name);
/* Call fn(row, arg) for every row; stops at the first failure. */
int registry_each(struct registry *r, int (*fn)(const json_t *row, void *arg), void *arg);

#endif

/*
 * init_path.h - where picocenter-init (src/init/init.c), the init of apps'
 * trees, is on the host and where a box sees it.
 */
#ifndef PC_COMMON_INIT_PATH_H
#define PC_COMMON_INIT_PATH_H

#include <stddef.h>

/* In every box made with an init (box_config.init): the host's
 * picocenter-init, bound read-only. */
#define BOX_INIT_PATH "/.picocenter/picocenter-init"

/* The host's picocenter-init: $PICOCENTER_INIT if set, else next to this
 * binary, else in its parent directory (build/asan/picocenter uses
 * build/picocenter-init).  0, or -1 (err set) if there is none. */
int init_host_path(char *buf, size_t len);

#endif

/*
 * init_path.h - where picocenter-init (src/init/init.c), the init of apps'
 * trees, is: the build's file, and the copies trees run.
 *
 * A tree maps its init's file, and a restore refuses a mapped file that
 * changed since the dump (size or mtime): so trees never run the build's
 * file, which a rebuild or an upgrade replaces, but a copy named by its
 * content, BOXES/.init/picocenter-init-HASH, with a fixed mtime.  A copy
 * is made once and never changed nor removed: an image restores as long
 * as the copy it was dumped with is there (the same build elsewhere
 * makes the same name, size and mtime).
 */
#ifndef PC_COMMON_INIT_PATH_H
#define PC_COMMON_INIT_PATH_H

#include <stddef.h>

/* In every box made with an init (box_config.init), BOXES/.init is bound
 * read-only here: the init is BOX_INIT_DIR/picocenter-init-HASH. */
#define BOX_INIT_DIR "/.picocenter"

/* The build's picocenter-init: $PICOCENTER_INIT if set, else next to this
 * binary, else in its parent directory (build/asan/picocenter uses
 * build/picocenter-init).  0, or -1 (err set) if there is none. */
int init_host_path(char *buf, size_t len);

/* The copy of the build's init in boxes_dir/.init (made if missing):
 * dir gets that directory, name the copy's file name. */
int init_install(const char *boxes_dir, char *dir, size_t dlen, char *name, size_t nlen);

#endif

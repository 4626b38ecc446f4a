/*
 * runtime_plain.c - apps as plain `cr spawn` trees on the host (see
 * runtime.h): the command runs in fresh PID and mount namespaces with the
 * host's network and filesystem, its environment and working directory
 * set before the spawn.
 */
#include <stdlib.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/cr.h"
#include "worker/runtime.h"

static int plain_start(const struct app_spec *spec, const struct runtime_ctx *ctx, pid_t *pid)
{
	struct cr_spawn_opts opts = { .log = ctx->log, .init = spec->init };
	uint32_t uid, gid;

	/* This runs in an engine child: its cwd and environment are its own. */
	if (chdir(spec->workdir ? spec->workdir : "/") < 0)
		return err_sys("chdir %s", spec->workdir ? spec->workdir : "/");
	for (size_t i = 0; i < spec->nenv; i++)
		if (putenv(spec->env[i]) != 0)
			return err_sys("setenv %.64s", spec->env[i]);
	if (spec->user) {
		if (spec_parse_user(spec->user, &uid, &gid) < 0)
			return -1;
		opts.set_user = 1;
		opts.uid = uid;
		opts.gid = gid;
	}
	return cr_spawn(spec->argv, &opts, pid);
}

static int plain_dump(pid_t *pid, const struct runtime_ctx *ctx, struct image_facts *facts)
{
	return runtime_image_dump(pid, ctx, NULL, facts);
}

const struct runtime runtime_plain = {
	.name = "plain",
	.start = plain_start,
	.dump = plain_dump,
	.restore = runtime_image_restore,
};

const struct runtime *runtime_of(const struct app_spec *spec)
{
	return spec->runtime == APP_RT_PLAIN ? &runtime_plain : &runtime_box;
}

/*
 * runtime_box.c - apps in boxes of their own (see runtime.h, docs/box.md):
 * the box is made from the app's spec (named after the app, under
 * ctx->box_dir: root filesystem, published ports, memory and pids limits,
 * egress) and the command spawned in it; dumps and restores go through
 * runtime_image.c with the box; removing the app removes its box.  A box
 * for an app revived from an image made elsewhere can be made ahead of
 * the image (asleep, its address and ports only).
 */
#include <stdio.h>
#include <string.h>

#include "box/box.h"
#include "common/err.h"
#include "cr/cr.h"
#include "worker/runtime.h"

#define BOX_MAX_ENV (2 * APP_MAX_ENV)

static int copy_field(char *dst, size_t len, const char *src, const char *what)
{
	if (strlen(src) >= len)
		return err_set("%s '%.64s...' is too long", what, src);
	strcpy(dst, src);
	return 0;
}

/* The box config the spec describes. */
static int box_config_of(const struct app_spec *spec, const struct runtime_ctx *ctx,
			 struct box_config *cfg)
{
	if (box_config_init(cfg, spec->name) < 0 ||
	    copy_field(cfg->dir, sizeof(cfg->dir), ctx->box_dir, "box dir") < 0 ||
	    copy_field(cfg->rootfs, sizeof(cfg->rootfs), spec->rootfs ? spec->rootfs : "host",
		       "rootfs") < 0 ||
	    copy_field(cfg->log, sizeof(cfg->log), ctx->log, "log") < 0)
		return -1;
	/* The boxes' dir is DIR/boxes: the box sees none of the daemon's state
	 * dir (its registry, API socket, store, other apps' files). */
	if (copy_field(cfg->hide, sizeof(cfg->hide), ctx->box_dir, "state dir") < 0)
		return -1;
	*strrchr(cfg->hide, '/') = '\0';
	if (ctx->bridge && ctx->bridge[0] &&
	    copy_field(cfg->bridge, sizeof(cfg->bridge), ctx->bridge, "bridge") < 0)
		return -1;
	if (ctx->subnet && ctx->subnet[0] && box_parse_subnet(ctx->subnet, cfg) < 0)
		return -1;
	if (ctx->subnet6 && ctx->subnet6[0] && box_parse_subnet6(ctx->subnet6, cfg) < 0)
		return -1;
	for (size_t i = 0; i < spec->npublish; i++)
		if (box_config_add_port(cfg, spec->publish[i]) < 0)
			return -1;
	cfg->memory = spec->memory;
	cfg->pids = spec->pids;
	cfg->no_egress = spec->no_egress;
	cfg->init = spec->init;
	return 0;
}

struct box_launch {
	struct cr_spawn_opts opts;
	char *env[BOX_MAX_ENV + 1];
	struct box_oci_defaults oci;
};

/* The spawn options: the spec's environment, working directory and user
 * over an OCI image's defaults (cfg->rootfs becomes the unpacked lower). */
static int launch_opts(const struct app_spec *spec, const struct runtime_ctx *ctx,
		       struct box_config *cfg, struct box_launch *l)
{
	const char *user = spec->user;
	char lower[BOX_PATH_MAX];
	size_t n = 0;

	memset(l, 0, sizeof(*l));
	l->opts.log = ctx->log;
	l->opts.workdir = spec->workdir;
	l->opts.init = spec->init;
	if (!strncmp(cfg->rootfs, "oci:", 4)) {
		if (box_oci_prepare(cfg->rootfs, cfg->dir, lower, sizeof(lower), &l->oci) < 0)
			return -1;
		strcpy(cfg->rootfs, lower);
		for (int i = 0; i < l->oci.nr_env && n < APP_MAX_ENV; i++)
			l->env[n++] = l->oci.env[i];
		if (!l->opts.workdir && l->oci.workdir[0])
			l->opts.workdir = l->oci.workdir;
		if (!user && l->oci.user[0])
			user = l->oci.user;
	}
	for (size_t i = 0; i < spec->nenv; i++)
		l->env[n++] = spec->env[i];
	l->opts.env = l->env;
	if (user) {
		uint32_t uid, gid;

		if (spec_parse_user(user, &uid, &gid) < 0)
			return err_wrap("the image's User (only numeric ids are supported)");
		l->opts.set_user = 1;
		l->opts.uid = uid;
		l->opts.gid = gid;
	}
	return 0;
}

/* In an engine child: make the box, then spawn the command in it; a
 * failure leaves no box. */
static int box_start(const struct app_spec *spec, const struct runtime_ctx *ctx, pid_t *pid)
{
	static struct box_launch l;
	static struct box_config cfg;
	static struct box b;

	if (box_config_of(spec, ctx, &cfg) < 0 || launch_opts(spec, ctx, &cfg, &l) < 0)
		return -1;
	if (box_create(&cfg, &b) < 0)
		return -1;
	l.opts.box = &b;
	if (cr_spawn(spec->argv, &l.opts, pid) < 0) {
		struct err_saved why;

		err_save(&why);
		box_destroy(&b);
		return err_restore(&why);
	}
	return 0;
}

static int box_of_app(const struct runtime_ctx *ctx, struct box *b)
{
	return box_open(ctx->box_dir, ctx->image, b) < 0 ? err_wrap("the app's box") : 0;
}

/* In an engine child: the box from the spec, ahead of its image; its
 * root is the image's (box_for_image takes it from its record). */
static int box_ahead(const struct app_spec *spec, const struct runtime_ctx *ctx, struct box *b)
{
	static struct box_config cfg;

	if (box_config_of(spec, ctx, &cfg) < 0)
		return -1;
	strcpy(cfg.rootfs, "host");
	return box_create_ahead(&cfg, ctx->hold_queue, b);
}

static int box_dump(pid_t *pid, const struct runtime_ctx *ctx, struct image_facts *facts)
{
	static struct box b;

	if (box_of_app(ctx, &b) < 0)
		return -1;
	return runtime_image_dump(pid, ctx, &b, facts);
}

static int box_remove_app(const struct runtime_ctx *ctx)
{
	return box_remove(ctx->box_dir, ctx->image);
}

const struct runtime runtime_box = {
	.name = "box",
	.start = box_start,
	.dump = box_dump,
	.restore = runtime_image_restore,
	.remove = box_remove_app,
	.box_of = box_of_app,
	.box_ahead = box_ahead,
};

/* cr.c - `picocenter cr spawn|dump|restore|inspect|hold`: thin shell over cr/cr.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "box/box.h"
#include "cli/cmd.h"
#include "common/err.h"
#include "common/timing.h"
#include "cr/cr.h"
#include "worker/imagestore.h"

static int cr_usage(void)
{
	fprintf(stderr,
		"usage: picocenter cr spawn [--init] [--log FILE] [--env K=V] [--user UID[:GID]] [--workdir DIR]\n"
		"                           [BOX FLAGS] -- CMD [ARGS...]\n"
		"  BOX FLAGS: --name NAME [--rootfs host|DIR|oci:PATH[:TAG]] [--port [ADDR:|[ADDR6]:]HOSTPORT:APPPORT[/udp]]\n"
		"             [--memory SIZE] [--pids N] [--cpu-weight N] [--no-egress]\n"
		"             [--box-dir DIR] [--bridge NAME] [--subnet A.B.C.D/N]\n"
		"             [--subnet6 PREFIX/N|none] [--uid-pool BASE:COUNT] [--uids N]\n"
		"       picocenter cr dump --pid PID (--dir DIR | --store URL --image NAME)\n"
		"                              [--leave-running] [--keep-listeners SOCKET] [--verify]\n"
		"                              [--box-dir DIR] [--full] [--cache DIR --cache-size BYTES]\n"
		"                              [--local DIR]\n"
		"       picocenter cr restore (--dir DIR | --store URL --image NAME)\n"
		"                              [--listeners SOCKET] [--eager | --fill] [--box-dir DIR]\n"
		"                              [--log FILE] [--store-timeout MS] [--no-activeset]\n"
		"                              [--generation N] [--local DIR]\n"
		"                              [--cache DIR --cache-size BYTES]\n"
		"       picocenter cr memstat --pid PID\n"
		"       picocenter cr inspect --dir DIR\n"
		"       picocenter cr hold SOCKET\n"
		"--init: pid 1 is picocenter-init, which runs CMD, reaps and forwards\n"
		"signals (servers that daemonize work; docs/engine.md).\n"
		"--keep-listeners: listening and unbound-peer UDP sockets go to the holder\n"
		"(`cr hold SOCKET`) and keep queueing; --listeners takes them back.\n"
		"--store and --image: the image goes to/comes from an object store\n"
		"(see picocenter store); with --dir as well, DIR keeps a local copy.\n"
		"--verify: before the tree is killed, its image is restored into a trial\n"
		"tree that never runs; if that fails, the dump fails and the tree runs on.\n"
		"Restore resumes the tree before its large private memory is all in (a\n"
		"page server in the keeper fills it); --eager writes it all first.\n"
		"A tree spawned in a box (--name) is dumped with its box frozen and\n"
		"restored into the same box (found under --box-dir, default "
		BOX_DEFAULT_DIR ").\n"
		"From a store (--store without --dir), pages come in when touched, the\n"
		"image's ActiveSet before the tree resumes; --fill brings the rest in\n"
		"the background.  memstat prints the page server's counters (JSON).\n"
		"--local DIR: a dump to the store keeps its manifest and small files in\n"
		"DIR; a restore of that --generation reads them there (checked first).\n");
	return 2;
}

static int parse_pid(const char *s, pid_t *pid)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v <= 0 || v > 4194304)
		return err_set("bad pid '%s'", s);
	*pid = (pid_t)v;
	return 0;
}

#define MAX_ENV 64

struct spawn_cli {
	struct cr_spawn_opts opts;
	struct box_config box;
	int boxed;       /* a box flag was given */
	char *env[MAX_ENV + 1];
	int nr_env;
};

static int parse_user(const char *s, struct cr_spawn_opts *o)
{
	char *end;
	long u = strtol(s, &end, 10), g;

	if (end == s || u < 0 || u > 0x7fffffff || (*end && *end != ':'))
		return err_set("bad user '%s' (UID[:GID])", s);
	g = u;
	if (*end == ':') {
		const char *gs = end + 1;

		g = strtol(gs, &end, 10);
		if (end == gs || *end || g < 0 || g > 0x7fffffff)
			return err_set("bad user '%s' (UID[:GID])", s);
	}
	o->set_user = 1;
	o->uid = (uid_t)u;
	o->gid = (gid_t)g;
	return 0;
}

/* One box flag at argv[*i] (its value after it); 1 if it was none. */
static int box_flag(struct spawn_cli *s, int argc, char **argv, int *i)
{
	struct box_config *c = &s->box;
	const char *f = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;

	if (!strcmp(f, "--no-egress")) {
		c->no_egress = s->boxed = 1;
		return 0;
	}
	if (!v)
		return 1;
	if (!strcmp(f, "--rootfs")) {
		if (strlen(v) >= sizeof(c->rootfs))
			return err_set("rootfs path too long");
		strcpy(c->rootfs, v);
	} else if (!strcmp(f, "--box-dir") || !strcmp(f, "--bridge")) {
		char *dst = f[2] == 'b' && f[3] == 'o' ? c->dir : c->bridge;
		size_t max = dst == c->dir ? sizeof(c->dir) : sizeof(c->bridge);

		if (strlen(v) >= max)
			return err_set("%s '%s' too long", f, v);
		strcpy(dst, v);
	} else if (!strcmp(f, "--port")) {
		if (box_config_add_port(c, v) < 0)
			return -1;
	} else if (!strcmp(f, "--memory")) {
		if (box_parse_size(v, &c->memory) < 0)
			return err_wrap("--memory");
	} else if (!strcmp(f, "--pids")) {
		if (box_parse_count(v, 4194304, &c->pids) < 0)
			return err_wrap("--pids");
	} else if (!strcmp(f, "--cpu-weight")) {
		if (box_parse_count(v, 10000, &c->cpu_weight) < 0)
			return err_wrap("--cpu-weight");
	} else if (!strcmp(f, "--subnet")) {
		if (box_parse_subnet(v, c) < 0)
			return -1;
	} else if (!strcmp(f, "--subnet6")) {
		if (box_parse_subnet6(v, c) < 0)
			return -1;
	} else if (!strcmp(f, "--uid-pool")) {
		if (box_parse_uid_pool(v, c) < 0)
			return -1;
	} else if (!strcmp(f, "--uids")) {
		if (box_parse_count(v, BOX_UIDS_MAX, &c->uids) < 0 || c->uids < BOX_UIDS_MIN)
			return err_set("bad --uids '%s' (%u..%u)", v, BOX_UIDS_MIN, BOX_UIDS_MAX);
	} else {
		return 1;
	}
	s->boxed = 1;
	(*i)++;
	return 0;
}

/* Flags up to "--"; returns the index of "--", or -1 (error) / -2 (usage). */
static int parse_spawn(struct spawn_cli *s, int argc, char **argv)
{
	const char *name = NULL;
	int i, r;

	box_config_init(&s->box, "app");
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--name") && v && !name) {
			name = argv[++i];
		} else if (!strcmp(argv[i], "--init")) {
			s->opts.init = s->box.init = 1;
		} else if (!strcmp(argv[i], "--log") && v) {
			s->opts.log = argv[++i];
		} else if (!strcmp(argv[i], "--workdir") && v) {
			s->opts.workdir = argv[++i];
		} else if (!strcmp(argv[i], "--user") && v) {
			if (parse_user(argv[++i], &s->opts) < 0)
				return -1;
		} else if (!strcmp(argv[i], "--env") && v) {
			if (!strchr(v, '=') || v[0] == '=' || s->nr_env == MAX_ENV)
				return err_set("bad --env '%s' (K=V, at most %d)", v, MAX_ENV);
			s->env[s->nr_env++] = argv[++i];
		} else if ((r = box_flag(s, argc, argv, &i)) != 0) {
			return r < 0 ? -1 : -2;
		}
	}
	if (name && s->opts.log) {
		char *abs = realpath(s->opts.log, NULL);

		if (!abs && access(s->opts.log, F_OK) < 0) {
			/* not there yet: its directory must be */
			FILE *f = fopen(s->opts.log, "ae");

			if (f)
				fclose(f);
			abs = realpath(s->opts.log, NULL);
		}
		if (!abs || strlen(abs) >= sizeof(s->box.log))
			return err_set("log %s: no such file or directory", s->opts.log);
		strcpy(s->box.log, abs);
		free(abs);
	}
	if (name) {
		if (!box_name_valid(name))
			return err_set("bad box name '%s' (1-23 of a-z 0-9 -)", name);
		strcpy(s->box.name, name);
		s->boxed = 1;
	} else if (s->boxed) {
		return err_set("box flags need --name");
	}
	s->opts.env = s->env;
	if (i + 1 < argc)
		return i;
	/* an OCI image may name the command itself */
	return s->boxed && !strncmp(s->box.rootfs, "oci:", 4) ? argc - 1 : -2;
}

/* An OCI image's rootfs, and its config's defaults under the flags. */
static int use_oci(struct spawn_cli *s, char ***cmd)
{
	static struct box_oci_defaults d;
	static char *env[2 * MAX_ENV + 2];
	char lower[BOX_PATH_MAX];
	int n = 0;

	if (box_oci_prepare(s->box.rootfs, s->box.dir, lower, sizeof(lower), &d) < 0)
		return -1;
	strcpy(s->box.rootfs, lower);
	if (!**cmd) {
		if (d.argc == 0)
			return err_set("no command given and the image has no Entrypoint or Cmd");
		*cmd = d.argv;
	}
	for (int k = 0; k < d.nr_env && n < MAX_ENV; k++)
		env[n++] = d.env[k];
	for (int k = 0; k < s->nr_env; k++)
		env[n++] = s->env[k];
	env[n] = NULL;
	s->opts.env = env;
	if (!s->opts.workdir && d.workdir[0])
		s->opts.workdir = d.workdir;
	if (!s->opts.set_user && d.user[0] && parse_user(d.user, &s->opts) < 0)
		return err_wrap("the image's User (only numeric ids are supported)");
	return 0;
}

static int cr_spawn_cmd(int argc, char **argv)
{
	static struct spawn_cli s;
	static struct box box;
	char **cmd;
	pid_t pid;
	int i = parse_spawn(&s, argc, argv);

	if (i == -2)
		return cr_usage();
	if (i < 0) {
		fprintf(stderr, "picocenter cr spawn: %s\n", err_msg());
		return 2;
	}
	cmd = argv + i + 1;
	if (s.boxed && !strncmp(s.box.rootfs, "oci:", 4) && use_oci(&s, &cmd) < 0) {
		fprintf(stderr, "picocenter cr spawn: %s\n", err_msg());
		return 1;
	}
	timing_mark("spawn: start");
	if (s.boxed) {
		if (box_create(&s.box, &box) < 0) {
			fprintf(stderr, "picocenter cr spawn: %s\n", err_msg());
			return 1;
		}
		s.opts.box = &box;
	}
	if (cr_spawn(cmd, &s.opts, &pid) < 0) {
		fprintf(stderr, "picocenter cr spawn: %s\n", err_msg());
		if (s.boxed)
			box_destroy(&box);
		return 1;
	}
	timing_mark("spawn: tree started");
	printf("%d\n", (int)pid);
	return 0;
}

static int cr_dump_cmd(int argc, char **argv)
{
	struct cr_dump_opts opts = { 0 };
	const char *dir = NULL, *url = NULL, *image = NULL, *box_dir = NULL;
	static struct box box;
	pid_t pid = 0;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pid") && i + 1 < argc) {
			if (parse_pid(argv[++i], &pid) < 0) {
				fprintf(stderr, "picocenter cr dump: %s\n", err_msg());
				return 2;
			}
		} else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
			dir = argv[++i];
		} else if (!strcmp(argv[i], "--store") && i + 1 < argc) {
			url = argv[++i];
		} else if (!strcmp(argv[i], "--image") && i + 1 < argc) {
			image = argv[++i];
		} else if (!strcmp(argv[i], "--keep-listeners") && i + 1 < argc) {
			opts.keep_listeners = argv[++i];
		} else if (!strcmp(argv[i], "--leave-running")) {
			opts.leave_running = 1;
		} else if (!strcmp(argv[i], "--verify")) {
			opts.verify = 1;
		} else if (!strcmp(argv[i], "--box-dir") && i + 1 < argc) {
			box_dir = argv[++i];
		} else if (!strcmp(argv[i], "--full")) {
			opts.full = 1;
		} else if (!strcmp(argv[i], "--cache") && i + 1 < argc) {
			opts.cache_dir = argv[++i];
		} else if (!strcmp(argv[i], "--cache-size") && i + 1 < argc) {
			opts.cache_max = strtoull(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--local") && i + 1 < argc) {
			opts.local_dir = argv[++i];
		} else {
			return cr_usage();
		}
	}
	if (!pid || (!dir && !image) || (!url) != (!image) || (opts.cache_dir && !opts.cache_max))
		return cr_usage();
	rc = box_of_pid(box_dir, pid, &box);
	if (rc < 0) {
		fprintf(stderr, "picocenter cr dump: %s\n", err_msg());
		return 1;
	}
	if (rc > 0)
		opts.box = &box;
	if (image && !dir) {
		struct cr_dump_stats st;

		rc = cr_dump_to_store(pid, url, image, &opts, &st);
		if (rc == 0 && getenv("PICOCENTER_TIMING"))
			fprintf(stderr, "dump counters: generation %llu bytes_new %llu "
				"chunks_new %llu logical_bytes %llu pages_new %llu "
				"pack_bytes_new %llu\n",
				(unsigned long long)st.generation,
				(unsigned long long)st.bytes_new,
				(unsigned long long)st.chunks_new,
				(unsigned long long)st.logical_bytes,
				(unsigned long long)st.pages_new,
				(unsigned long long)st.pack_bytes_new);
	} else {
		rc = image_dump_to(pid, dir, url, image, &opts, NULL);
	}
	if (rc < 0) {
		fprintf(stderr, "picocenter cr dump: %s\n", err_msg());
		return 1;
	}
	return 0;
}

static int cr_restore_cmd(int argc, char **argv)
{
	const char *dir = NULL, *url = NULL, *image = NULL;
	struct cr_restore_opts opts = { 0 };
	pid_t pid;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--listeners") && i + 1 < argc)
			opts.listeners = argv[++i];
		else if (!strcmp(argv[i], "--eager"))
			opts.eager = 1;
		else if (!strcmp(argv[i], "--box-dir") && i + 1 < argc)
			opts.box_dir = argv[++i];
		else if (!strcmp(argv[i], "--store") && i + 1 < argc)
			url = argv[++i];
		else if (!strcmp(argv[i], "--image") && i + 1 < argc)
			image = argv[++i];
		else if (!strcmp(argv[i], "--fill"))
			opts.fill = 1;
		else if (!strcmp(argv[i], "--no-activeset"))
			opts.no_activeset = 1;
		else if (!strcmp(argv[i], "--generation") && i + 1 < argc)
			opts.generation = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--log") && i + 1 < argc)
			opts.log = argv[++i];
		else if (!strcmp(argv[i], "--cache") && i + 1 < argc)
			opts.cache_dir = argv[++i];
		else if (!strcmp(argv[i], "--cache-size") && i + 1 < argc)
			opts.cache_max = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--store-timeout") && i + 1 < argc)
			opts.store_timeout_ms = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--local") && i + 1 < argc)
			opts.local_dir = argv[++i];
		else
			return cr_usage();
	}
	if ((!dir && !image) || (!url) != (!image) || (opts.cache_dir && !opts.cache_max))
		return cr_usage();
	if (image && !dir) {
		if (cr_restore_from_store(url, image, &opts, &pid, NULL) < 0) {
			fprintf(stderr, "picocenter cr restore: %s\n", err_msg());
			return 1;
		}
		printf("%d\n", (int)pid);
		return 0;
	}
	if (image_restore_from(dir, url, image, &opts, &pid, NULL) < 0) {
		fprintf(stderr, "picocenter cr restore: %s\n", err_msg());
		return 1;
	}
	printf("%d\n", (int)pid);
	return 0;
}

static int cr_memstat_cmd(int argc, char **argv)
{
	struct cr_mem_stats st;
	pid_t pid;
	int rc;

	if (argc != 3 || strcmp(argv[1], "--pid"))
		return cr_usage();
	if (parse_pid(argv[2], &pid) < 0) {
		fprintf(stderr, "picocenter cr memstat: %s\n", err_msg());
		return 2;
	}
	rc = cr_mem_stats(pid, &st);
	if (rc < 0) {
		fprintf(stderr, "picocenter cr memstat: %s\n", err_msg());
		return 1;
	}
	printf("{\"page_server\":%s,\"generation\":%llu,\"bytes_store\":%llu,"
	       "\"bytes_cache\":%llu,\"pages_prefetched\":%llu,\"prefetched_touched\":%llu,"
	       "\"probes\":%llu,\"faults\":%llu,\"faults_after_resume\":%llu,"
	       "\"pages_due\":%llu,\"rss_kb\":%llu,\"local_copy\":%llu,\"bytes_local\":%llu}\n",
	       rc == 0 ? "true" : "false",
	       (unsigned long long)st.generation, (unsigned long long)st.bytes_store,
	       (unsigned long long)st.bytes_cache, (unsigned long long)st.pages_prefetched,
	       (unsigned long long)st.prefetched_touched, (unsigned long long)st.probes,
	       (unsigned long long)st.faults, (unsigned long long)st.faults_after_resume,
	       (unsigned long long)st.pages_due, (unsigned long long)st.rss_kb,
	       (unsigned long long)st.local_copy, (unsigned long long)st.bytes_local);
	return 0;
}

static int cr_inspect_cmd(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "--dir"))
		return cr_usage();
	if (cr_inspect(argv[2], stdout) < 0) {
		fprintf(stderr, "picocenter cr inspect: %s\n", err_msg());
		return 1;
	}
	return 0;
}

/* The custody holder in the foreground (stands in for the worker daemon). */
static int cr_hold_cmd(int argc, char **argv)
{
	if (argc != 2)
		return cr_usage();
	if (cr_hold(argv[1]) < 0) {
		fprintf(stderr, "picocenter cr hold: %s\n", err_msg());
		return 1;
	}
	return 0;
}

int cmd_cr(int argc, char **argv)
{
	if (argc < 2)
		return cr_usage();
	if (!strcmp(argv[1], "spawn"))
		return cr_spawn_cmd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "dump"))
		return cr_dump_cmd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "restore"))
		return cr_restore_cmd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "inspect"))
		return cr_inspect_cmd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "memstat"))
		return cr_memstat_cmd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "hold"))
		return cr_hold_cmd(argc - 1, argv + 1);
	return cr_usage();
}

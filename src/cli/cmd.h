/* cmd.h - the subcommands of the picocenter binary (one file each in cli/). */
#ifndef PC_CLI_CMD_H
#define PC_CLI_CMD_H

int cmd_cr(int argc, char **argv);     /* cr spawn|dump|restore */
int cmd_store(int argc, char **argv);  /* store ls|du|fsck|gc */
int cmd_box(int argc, char **argv);    /* box ls|rm|sleep|wake|hold */
int cmd_box_hold(int argc, char **argv); /* box hold */
int cmd_serve(int argc, char **argv);  /* serve: the hosting daemon */
int cmd_app(int argc, char **argv);    /* app create|ls|inspect|logs|rm|swap-out|swap-in */
int cmd_hub(int argc, char **argv);    /* hub: the control plane of many machines */
int cmd_tenant(int argc, char **argv); /* tenant create|ls|rm, on the hub's machine */
int cmd_worker(int argc, char **argv); /* worker: a machine's membership in a hub; worker ls */

/* --state-dir DIR [--db URL] from argv[first...] (cli/hub.c). */
int hub_local_opts(int argc, char **argv, int first, const char **dir, const char **db);

#endif

/* cmd.h - the subcommands of the picocenter binary (one file each in cli/). */
#ifndef PC_CLI_CMD_H
#define PC_CLI_CMD_H

int cmd_cr(int argc, char **argv);     /* cr spawn|dump|restore */
int cmd_store(int argc, char **argv);  /* store ls|du|fsck|gc */
int cmd_box(int argc, char **argv);    /* box ls|rm */

#endif

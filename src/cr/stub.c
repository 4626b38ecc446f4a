/* stub.c - placeholder until dump.c and restore.c land. */
#include "common/err.h"
#include "cr/cr.h"

int cr_restore(const char *dir, pid_t *pid)
{
	(void)dir; (void)pid;
	return err_set("restore: not implemented yet");
}

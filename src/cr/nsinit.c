/* nsinit.c - mount set-up for a fresh PID+mount namespace (see nsinit.h). */
#include <sys/mount.h>

#include "common/err.h"
#include "cr/nsinit.h"

int ns_setup_mounts(void)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return err_sys("make / private");
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return err_sys("mount /proc");
	return 0;
}

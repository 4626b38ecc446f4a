/*
 * restore_uffd.c - the userfaultfd of a process restored into a box.  In
 * the box's user namespace it has no CAP_SYS_PTRACE on the host, so
 * userfaultfd(2) is refused (vm.unprivileged_userfaultfd = 0) and the
 * box has no /dev/userfaultfd: the restorer opens that device, sends it
 * over the report socket, and the process receives it (an injected
 * recvmsg) and makes its own userfaultfd with USERFAULTFD_IOC_NEW, which
 * handles kernel faults as well.
 */
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "cr/restore_ctx.h"

/* Scratch data for the message, clear of the other injected calls'. */
#define UF_DATA 24576u
#define UF_IOV (UF_DATA + 64)
#define UF_BYTE (UF_DATA + 128)
#define UF_CMSG (UF_DATA + 192)

static int send_device(int sock)
{
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	ssize_t n;

	if (dev < 0)
		return err_sys("open /dev/userfaultfd");
	n = send_with_fd(sock, "u", 1, dev, 0);
	close(dev);
	return n == 1 ? 0 : err_sys("send /dev/userfaultfd to the restored tree");
}

/* The process receives the device: its fd number there. */
static int receive_device(struct rst_ctx *c, struct rst_proc *rp, int *dev)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)(uintptr_t)inj_data(&rp->inj, UF_BYTE), 1 };
	struct msghdr mh = { 0 };
	struct cmsghdr *cm;
	int64_t n;

	mh.msg_iov = (struct iovec *)(uintptr_t)inj_data(&rp->inj, UF_IOV);
	mh.msg_iovlen = 1;
	mh.msg_control = (void *)(uintptr_t)inj_data(&rp->inj, UF_CMSG);
	mh.msg_controllen = sizeof(cbuf);
	memset(cbuf, 0, sizeof(cbuf));
	if (inj_write(&rp->inj, inj_data(&rp->inj, UF_DATA), &mh, sizeof(mh)) < 0 ||
	    inj_write(&rp->inj, inj_data(&rp->inj, UF_IOV), &iov, sizeof(iov)) < 0 ||
	    inj_write(&rp->inj, inj_data(&rp->inj, UF_CMSG), cbuf, sizeof(cbuf)) < 0 ||
	    inj_call(&rp->inj, rp->host_tids[0], "recvmsg /dev/userfaultfd", SYS_recvmsg,
		     (uint64_t)svc_report_fd(c), inj_data(&rp->inj, UF_DATA), MSG_CMSG_CLOEXEC,
		     0, 0, 0, &n) < 0 ||
	    inj_read(&rp->inj, inj_data(&rp->inj, UF_CMSG), cbuf, sizeof(cbuf)) < 0)
		return -1;
	mh.msg_control = cbuf;
	cm = CMSG_FIRSTHDR(&mh);
	if (n != 1 || !cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
		return err_set("no /dev/userfaultfd received");
	memcpy(dev, CMSG_DATA(cm), sizeof(*dev));
	return 0;
}

int rst_box_userfaultfd(struct rst_ctx *c, struct rst_proc *rp, int64_t *fd)
{
	int dev = -1;
	int rc;

	if (send_device(c->report_fd) < 0 || receive_device(c, rp, &dev) < 0)
		return -1;
	rc = inj_call(&rp->inj, rp->host_tids[0], "ioctl(USERFAULTFD_IOC_NEW)", SYS_ioctl,
		      (uint64_t)dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK, 0, 0, 0, fd);
	if (inj_call(&rp->inj, rp->host_tids[0], "close /dev/userfaultfd", SYS_close,
		     (uint64_t)dev, 0, 0, 0, 0, 0, NULL) < 0)
		rc = -1;
	return rc;
}

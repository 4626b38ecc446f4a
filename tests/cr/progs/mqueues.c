/*
 * mqueues.c - POSIX message queues of the tree's own IPC namespace keep
 * their names, attributes, owners, modes and messages.
 *
 * - q1 "/pico-q1": maxmsg 8, msgsize 128, mode 0640, three messages of
 *   priorities 1, 9, 1; at every check each message is received (highest
 *   priority first) and sent back;
 * - the same queue opened a second time, write-only and non-blocking:
 *   its flags stay, and a message sent through it reaches q1;
 * - q3 "/pico-q3": one message, then mq_unlink()ed while open: the name
 *   is gone, the queue and its message are not.
 */
#include <mqueue.h>
#include <sys/ipc.h>
#include <sys/stat.h>

#include "check.h"

static mqd_t q1, q1w, q3;

struct m { const char *text; unsigned prio; };
static const struct m msgs[] = { { "first, low", 1 }, { "urgent", 9 }, { "second, low", 1 } };
/* received order: urgent, first, second */
static const int order[] = { 1, 0, 2 };

int main(int argc, char **argv)
{
	struct mq_attr a = { .mq_maxmsg = 8, .mq_msgsize = 128 };
	mode_t old = umask(0);

	ck_init(argc, argv);
	q1 = mq_open("/pico-q1", O_RDWR | O_CREAT | O_EXCL, 0640, &a);
	q1w = mq_open("/pico-q1", O_WRONLY | O_NONBLOCK);
	a.mq_maxmsg = 2;
	a.mq_msgsize = 64;
	q3 = mq_open("/pico-q3", O_RDWR | O_CREAT | O_EXCL, 0600, &a);
	umask(old);
	if (q1 < 0 || q1w < 0 || q3 < 0)
		ck_die("mq_open");
	for (int i = 0; i < 3; i++)
		if (mq_send(q1, msgs[i].text, strlen(msgs[i].text), msgs[i].prio) < 0)
			ck_die("mq_send");
	if (mq_send(q3, "in an unlinked queue", 20, 3) < 0 || mq_unlink("/pico-q3") < 0)
		ck_die("q3");
	ck_ready();
	for (int n = 0;; n++) {
		struct mq_attr got;
		struct stat st;
		char buf[128];
		unsigned prio;
		ssize_t len;
		mqd_t again;

		ck_wait_go(n);
		CK(mq_getattr(q1, &got) == 0 && got.mq_maxmsg == 8 && got.mq_msgsize == 128 &&
		   got.mq_curmsgs == 3 && got.mq_flags == 0, "q1: maxmsg %ld msgsize %ld "
		   "curmsgs %ld flags %ld", got.mq_maxmsg, got.mq_msgsize, got.mq_curmsgs,
		   got.mq_flags);
		CK(fstat(q1, &st) == 0 && (st.st_mode & 0777) == 0640, "q1: mode 0%o",
		   st.st_mode & 0777);
		for (int i = 0; i < 3; i++) {
			const struct m *w = &msgs[order[i]];

			len = mq_receive(q1, buf, sizeof(buf), &prio);
			CK(len == (ssize_t)strlen(w->text) && !memcmp(buf, w->text, (size_t)len) &&
			   prio == w->prio, "q1: message %d: %zd bytes, priority %u, want '%s' %u",
			   i, len, prio, w->text, w->prio);
		}
		for (int i = 0; i < 3; i++)
			mq_send(q1, msgs[i].text, strlen(msgs[i].text), msgs[i].prio);
		CK(mq_getattr(q1w, &got) == 0 && got.mq_flags == O_NONBLOCK,
		   "q1 write-only: flags %ld", got.mq_flags);
		CK(mq_send(q1w, "x", 1, 20) == 0, "q1 write-only: send: %s", strerror(errno));
		CK(mq_receive(q1, buf, sizeof(buf), &prio) == 1 && prio == 20,
		   "q1: the message sent through the write-only fd did not come");
		CK(mq_receive(q1w, buf, sizeof(buf), &prio) < 0 && errno == EBADF,
		   "q1 write-only: receive did not fail with EBADF");
		again = mq_open("/pico-q3", O_RDONLY);
		CK(again < 0 && errno == ENOENT, "q3: its name came back");
		if (again >= 0)
			mq_close(again);
		CK(mq_getattr(q3, &got) == 0 && got.mq_curmsgs == 1 && got.mq_maxmsg == 2 &&
		   got.mq_msgsize == 64, "q3: curmsgs %ld maxmsg %ld", got.mq_curmsgs,
		   got.mq_maxmsg);
		len = mq_receive(q3, buf, sizeof(buf), &prio);
		CK(len == 20 && prio == 3 && !memcmp(buf, "in an unlinked queue", 20),
		   "q3: message of %zd bytes, priority %u", len, prio);
		if (len > 0)
			mq_send(q3, buf, (size_t)len, prio);
		ck_report(n);
	}
}

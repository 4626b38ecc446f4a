/*
 * anonfds.c - eventfd, timerfd, signalfd and epoll through dump/restore:
 *   - an eventfd (semaphore mode) holding a count, and a plain one;
 *   - a periodic timerfd (1 h) whose remaining time must stay plausible,
 *     and a one-shot timerfd that has expired once, unread (ticks);
 *   - a signalfd for SIGUSR1|SIGRTMIN (its mask read back from fdinfo),
 *     with SIGUSR1 pending and blocked: it must read it;
 *   - an epoll set: the eventfd (level, data 0x1234), a pipe (edge
 *     triggered, data 77) and the timerfd (oneshot): fdinfo must list the
 *     same registrations and epoll_wait must report the ready ones.
 * Each check consumes state and re-arms it for the next cycle.
 */
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "check.h"

enum { FD_SEM = 20, FD_EVT, FD_TPERIOD, FD_TONCE, FD_SIG, FD_EP, FD_PIPE_R, FD_PIPE_W };

static void put_fd(int fd, int want)
{
	if (fd < 0)
		ck_die("fd for %d", want);
	if (fd != want && (dup2(fd, want) < 0 || close(fd) < 0))
		ck_die("dup2 %d", want);
}

static void arm_once(void)
{
	struct itimerspec its = { { 0, 0 }, { 0, 1000000 } };

	if (timerfd_settime(FD_TONCE, 0, &its, NULL) < 0)
		ck_die("arm one-shot timer");
	ck_sleep_us(20000);   /* expired, unread: ticks = 1 */
}

static void ep_add(int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { events, { .u64 = data } };

	if (epoll_ctl(FD_EP, EPOLL_CTL_ADD, fd, &ev) < 0)
		ck_die("epoll add %d", fd);
}

static void arm(void)
{
	uint64_t five = 5, one = 1;
	union sigval v = { 0 };

	if (write(FD_SEM, &five, 8) != 8 || write(FD_EVT, &one, 8) != 8)
		ck_die("eventfd write");
	arm_once();
	if (sigqueue(getpid(), SIGUSR1, v) < 0)
		ck_die("sigqueue");
	if (write(FD_PIPE_W, "p", 1) != 1)
		ck_die("pipe write");
}

static void setup(void)
{
	struct itimerspec hour = { { 3600, 0 }, { 3600, 0 } };
	sigset_t set;
	int p[2];

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGRTMIN);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		ck_die("sigprocmask");
	put_fd(eventfd(0, EFD_SEMAPHORE | EFD_NONBLOCK), FD_SEM);
	put_fd(eventfd(0, 0), FD_EVT);
	put_fd(timerfd_create(CLOCK_MONOTONIC, 0), FD_TPERIOD);
	if (timerfd_settime(FD_TPERIOD, 0, &hour, NULL) < 0)
		ck_die("timerfd_settime");
	put_fd(timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK), FD_TONCE);
	put_fd(signalfd(-1, &set, SFD_NONBLOCK), FD_SIG);
	if (pipe(p) < 0)
		ck_die("pipe");
	put_fd(p[0], FD_PIPE_R);
	put_fd(p[1], FD_PIPE_W);
	put_fd(epoll_create1(0), FD_EP);
	ep_add(FD_EVT, EPOLLIN, 0x1234);
	ep_add(FD_PIPE_R, EPOLLIN | EPOLLET, 77);
	ep_add(FD_TPERIOD, EPOLLIN | EPOLLONESHOT, 99);
	arm();
}

static void check_eventfds(void)
{
	uint64_t v = 0;

	for (int i = 0; i < 5; i++)
		CK(read(FD_SEM, &v, 8) == 8 && v == 1, "semaphore read %d gave %llu", i,
		   (unsigned long long)v);
	CK(read(FD_SEM, &v, 8) < 0 && errno == EAGAIN, "semaphore count above 5 or blocking");
	CK(read(FD_EVT, &v, 8) == 8 && v == 1, "eventfd count %llu", (unsigned long long)v);
}

static void check_timers(void)
{
	struct itimerspec cur;
	uint64_t ticks = 0;

	CK(timerfd_gettime(FD_TPERIOD, &cur) == 0 && cur.it_interval.tv_sec == 3600 &&
	   cur.it_value.tv_sec > 3000 && cur.it_value.tv_sec <= 3600,
	   "periodic timerfd: %lld s left, interval %lld s", (long long)cur.it_value.tv_sec,
	   (long long)cur.it_interval.tv_sec);
	CK(read(FD_TONCE, &ticks, 8) == 8 && ticks == 1, "one-shot timerfd ticks %llu (%s)",
	   (unsigned long long)ticks, strerror(errno));
	CK(timerfd_gettime(FD_TONCE, &cur) == 0 && !cur.it_value.tv_sec && !cur.it_value.tv_nsec,
	   "one-shot timerfd still armed");
}

static void check_signalfd(void)
{
	struct signalfd_siginfo si;
	char path[64], buf[512];
	ssize_t n;
	int fd;

	CK(read(FD_SIG, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGUSR1,
	   "signalfd read: signo %u (%s)", si.ssi_signo, strerror(errno));
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", FD_SIG);
	fd = open(path, O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	snprintf(path, sizeof(path), "sigmask:\t%016llx",
		 (1ull << (SIGUSR1 - 1)) | (1ull << (SIGRTMIN - 1)));
	CK(strstr(buf, path) != NULL, "signalfd fdinfo lacks '%s'", path);
}

static void check_epoll(void)
{
	struct epoll_event ev[8];
	int n, seen_evt = 0, seen_pipe = 0;
	char c;

	n = epoll_wait(FD_EP, ev, 8, 0);
	for (int i = 0; i < n; i++) {
		seen_evt |= ev[i].data.u64 == 0x1234 && (ev[i].events & EPOLLIN);
		seen_pipe |= ev[i].data.u64 == 77;
		CK(ev[i].data.u64 != 99, "oneshot timerfd reported, it has not expired");
	}
	CK(seen_evt && seen_pipe, "epoll_wait: %d events, eventfd %d pipe %d", n, seen_evt,
	   seen_pipe);
	n = epoll_wait(FD_EP, ev, 8, 0);
	for (int i = 0; i < n; i++)
		CK(ev[i].data.u64 != 77, "edge-triggered pipe reported twice");
	CK(read(FD_PIPE_R, &c, 1) == 1 && c == 'p', "pipe byte");
}

int main(int argc, char **argv)
{
	ck_init(argc, argv);
	setup();
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		check_epoll();
		check_eventfds();
		check_timers();
		check_signalfd();
		arm();
		ck_report(n);
	}
}

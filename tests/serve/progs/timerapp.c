/*
 * timerapp.c - an app whose only work is a timer: it listens on PORT (so
 * the daemon knows when it is up), arms a one-shot timerfd DELAY seconds
 * ahead, prints "armed MS" (wall clock) and blocks; when the timer fires
 * it appends "fired MS" to FILE.  A connection gets "fired\n" or
 * "waiting\n".  Usage: timerapp PORT DELAY_S FILE
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int listen_on(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 16) < 0) {
		perror("listen");
		exit(1);
	}
	return s;
}

int main(int argc, char **argv)
{
	struct itimerspec its = { 0 };
	int fired = 0, ls, tfd, out;

	if (argc != 4) {
		fprintf(stderr, "usage: timerapp PORT DELAY_S FILE\n");
		return 2;
	}
	ls = listen_on(atoi(argv[1]));
	out = open(argv[3], O_WRONLY | O_CREAT | O_APPEND, 0644);
	tfd = timerfd_create(CLOCK_MONOTONIC, 0);
	if (out < 0 || tfd < 0) {
		perror("open/timerfd");
		return 1;
	}
	its.it_value.tv_sec = atoi(argv[2]);
	if (timerfd_settime(tfd, 0, &its, NULL) < 0) {
		perror("timerfd_settime");
		return 1;
	}
	printf("armed %lld\n", wall_ms());
	fflush(stdout);
	for (;;) {
		struct pollfd p[2] = { { tfd, POLLIN, 0 }, { ls, POLLIN, 0 } };

		if (poll(p, 2, -1) < 0)
			continue;
		if (p[0].revents & POLLIN) {
			uint64_t n;
			char line[64];

			if (read(tfd, &n, sizeof(n)) == sizeof(n)) {
				int len = snprintf(line, sizeof(line), "fired %lld\n", wall_ms());

				if (write(out, line, (size_t)len) != len)
					return 1;
				fired = 1;
			}
		}
		if (p[1].revents & POLLIN) {
			int c = accept(ls, NULL, NULL);
			const char *msg = fired ? "fired\n" : "waiting\n";

			if (c >= 0) {
				if (write(c, msg, strlen(msg)) < 0)
					perror("write");
				close(c);
			}
		}
	}
}

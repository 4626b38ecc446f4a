/*
 * pongsock.c - a unix stream server at the path argv[1]: every connection
 * gets "pong <pid>\n" and is closed.  Prints READY once listening.
 * Used by t-verify (a socket whose directory turns read-only).
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char msg[64];
	int sk, c, n;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: pongsock PATH\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	sk = socket(AF_UNIX, SOCK_STREAM, 0);
	if (sk < 0 || bind(sk, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(sk, 16) < 0) {
		perror("pongsock: listen");
		return 1;
	}
	printf("READY\n");
	fflush(stdout);
	n = snprintf(msg, sizeof(msg), "pong %d\n", (int)getpid());
	for (;;) {
		c = accept(sk, NULL, NULL);
		if (c < 0)
			continue;
		if (write(c, msg, (size_t)n) != n)
			perror("pongsock: write");
		close(c);
	}
}

/*
 * wsprog.c - the working-set program of the ActiveSet tests, after the
 * Picocenter paper's microbenchmark: a UDP server holding T pages of
 * non-zero data; each request touches a window of pages and answers their
 * checksum.  The same binary is the client, which computes the checksum
 * the answer must have and fails on any difference.
 *
 *   wsprog serve PORT T              hold T pages (generation 0 each)
 *   wsprog ask PORT START N GEN      read pages [START, START+N) (all of
 *                                    generation GEN); exit 1 if wrong
 *   wsprog write PORT START N GEN    rewrite those pages as generation GEN
 *   wsprog stride PORT START N STEP GEN   read pages START, START+STEP, ...
 *                                    (N of them, all of generation GEN)
 *
 * Page i of generation g holds, in word j, mix(i, j, g) (never zero).
 * WSPROG_TIMEOUT: seconds the client waits for an answer (default 30).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define PAGE 4096
#define WORDS (PAGE / 8)

static uint64_t mix(uint64_t i, uint64_t j, uint64_t g)
{
	uint64_t z = (i << 20) ^ (j << 2) ^ (g << 48) ^ 0x9E3779B97F4A7C15ull;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return (z ^ (z >> 31)) | 1;
}

static void fill_page(uint64_t *p, uint64_t i, uint64_t g)
{
	for (uint64_t j = 0; j < WORDS; j++)
		p[j] = mix(i, j, g);
}

static uint64_t page_sum(const uint64_t *p)
{
	uint64_t s = 0;

	for (uint64_t j = 0; j < WORDS; j++)
		s = s * 31 + p[j];
	return s;
}

static uint64_t expect_sum(uint64_t start, uint64_t n, uint64_t step, uint64_t g)
{
	uint64_t s = 0, buf[WORDS];

	for (uint64_t k = 0, i = start; k < n; k++, i += step) {
		fill_page(buf, i, g);
		s ^= page_sum(buf) + i;
	}
	return s;
}

static int serve(int port, uint64_t t)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint64_t *mem = mmap(NULL, t * PAGE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (mem == MAP_FAILED || fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("wsprog serve");
		return 1;
	}
	for (uint64_t i = 0; i < t; i++)
		fill_page(mem + i * WORDS, i, 0);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		char req[128], rep[128];
		unsigned long long s, n, g, st;
		ssize_t r = recvfrom(fd, req, sizeof(req) - 1, 0, (struct sockaddr *)&from, &fl);
		uint64_t sum = 0;

		if (r <= 0)
			continue;
		req[r] = '\0';
		if (sscanf(req, "s %llu %llu %llu", &s, &n, &st) == 3 && n && st &&
		    s + (n - 1) * st < t) {
			for (uint64_t k = 0, i = s; k < n; k++, i += st)
				sum ^= page_sum(mem + i * WORDS) + i;
			snprintf(rep, sizeof(rep), "sum %016llx", (unsigned long long)sum);
		} else if (sscanf(req, "r %llu %llu", &s, &n) == 2 && s + n <= t) {
			for (uint64_t i = s; i < s + n; i++)
				sum ^= page_sum(mem + i * WORDS) + i;
			snprintf(rep, sizeof(rep), "sum %016llx", (unsigned long long)sum);
		} else if (sscanf(req, "w %llu %llu %llu", &s, &n, &g) == 3 && s + n <= t) {
			for (uint64_t i = s; i < s + n; i++)
				fill_page(mem + i * WORDS, i, g);
			snprintf(rep, sizeof(rep), "written");
		} else {
			snprintf(rep, sizeof(rep), "err bad request");
		}
		sendto(fd, rep, strlen(rep), 0, (struct sockaddr *)&from, fl);
	}
}

static int request(int port, const char *req, char *rep, size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	const char *t = getenv("WSPROG_TIMEOUT");
	struct timeval tv = { t ? atoi(t) : 30, 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	ssize_t r;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sendto(fd, req, strlen(req), 0, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	r = recv(fd, rep, len - 1, 0);
	close(fd);
	if (r < 0)
		return -1;
	rep[r] = '\0';
	return 0;
}

int main(int argc, char **argv)
{
	char req[128], rep[128], want[64];
	unsigned long long s, n, g, st = 1;

	if (argc == 4 && !strcmp(argv[1], "serve"))
		return serve(atoi(argv[2]), strtoull(argv[3], NULL, 10));
	if (argc == 7 && !strcmp(argv[1], "stride")) {
		st = strtoull(argv[5], NULL, 10);
		argv[5] = argv[6];
	} else if (argc != 6 || (strcmp(argv[1], "ask") && strcmp(argv[1], "write"))) {
		fprintf(stderr, "usage: wsprog serve PORT T | ask|write PORT START N GEN |"
			" stride PORT START N STEP GEN\n");
		return 2;
	}
	s = strtoull(argv[3], NULL, 10);
	n = strtoull(argv[4], NULL, 10);
	g = strtoull(argv[5], NULL, 10);
	if (!strcmp(argv[1], "write"))
		snprintf(req, sizeof(req), "w %llu %llu %llu", s, n, g);
	else if (!strcmp(argv[1], "stride"))
		snprintf(req, sizeof(req), "s %llu %llu %llu", s, n, st);
	else
		snprintf(req, sizeof(req), "r %llu %llu", s, n);
	if (request(atoi(argv[2]), req, rep, sizeof(rep)) < 0) {
		perror("wsprog: no answer");
		return 1;
	}
	if (!strcmp(argv[1], "write"))
		return strcmp(rep, "written") ? (fprintf(stderr, "wsprog: %s\n", rep), 1) : 0;
	snprintf(want, sizeof(want), "sum %016llx", (unsigned long long)expect_sum(s, n, st, g));
	if (strcmp(rep, want)) {
		fprintf(stderr, "wsprog: pages %llu+%llu gen %llu: got '%s', want '%s'\n",
			s, n, g, rep, want);
		return 1;
	}
	return 0;
}

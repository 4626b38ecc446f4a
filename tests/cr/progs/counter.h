/*
 * counter.h - a running 64-bit counter carried over a byte stream, for the
 * cr test programs that check a stream loses and repeats nothing across a
 * dump (streams.c, tcppaced.c, tcpsink.c).
 *
 * The writer writes the counter without pause in writes of odd sizes, so
 * values straddle writes and a write the dump interrupts can be short; the
 * reader checks every value it reads is the next one.  Include after
 * check.h.
 */
#ifndef CR_COUNTER_H
#define CR_COUNTER_H

struct counter_stream {
	const char *name;
	int wfd, rfd;
	atomic_ullong got;             /* values read and checked */
	atomic_int bad;
	char why[128];
};

__attribute__((unused))
static void *counter_writer(void *arg)
{
	struct counter_stream *c = arg;
	uint64_t next = 0, buf[1024];
	size_t sizes[] = { 8 * 3 + 5, 8 * 200 + 3, 8 * 1024 - 1 }, k = 0;
	size_t pending = 0, off = 0;

	for (;;) {
		ssize_t w;

		if (off == pending) {
			for (size_t i = 0; i < 1024; i++)
				buf[i] = next++;
			pending = sizeof(buf);
			off = 0;
		}
		w = write(c->wfd, (char *)buf + off,
			  pending - off < sizes[k % 3] ? pending - off : sizes[k % 3]);
		k++;
		if (w < 0) {
			if (errno == EINTR)
				continue;
			snprintf(c->why, sizeof(c->why), "write: %s", strerror(errno));
			atomic_store(&c->bad, 1);
			return NULL;
		}
		off += (size_t)w;
	}
	return NULL;
}

static void *counter_reader(void *arg)
{
	struct counter_stream *c = arg;
	uint64_t want = 0, v;
	uint8_t buf[5000];
	size_t have = 0;

	for (;;) {
		ssize_t r = read(c->rfd, buf + have, sizeof(buf) - have);
		size_t i;

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			snprintf(c->why, sizeof(c->why), "read: %s", r ? strerror(errno) : "end of stream");
			atomic_store(&c->bad, 1);
			return NULL;
		}
		have += (size_t)r;
		for (i = 0; i + 8 <= have; i += 8) {
			memcpy(&v, buf + i, 8);
			if (v != want && !atomic_load(&c->bad)) {
				snprintf(c->why, sizeof(c->why), "read %llu, want %llu",
					 (unsigned long long)v, (unsigned long long)want);
				atomic_store(&c->bad, 1);
			}
			want = v + 1;
		}
		memmove(buf, buf + i, have - i);
		have -= i;
		atomic_store(&c->got, want);
	}
	return NULL;
}

/* Check of a stream: it moved on by more than min values within 5 s and
 * every value came in order. */
static void counter_check(struct counter_stream *c, unsigned long long before, unsigned min)
{
	double end = ck_now() + 5;

	while (atomic_load(&c->got) <= before + min && !atomic_load(&c->bad) && ck_now() < end)
		ck_sleep_us(10000);
	CK(!atomic_load(&c->bad), "%s: %s", c->name, c->why);
	CK(atomic_load(&c->got) > before + min, "%s: only %llu values in 5 s", c->name,
	   atomic_load(&c->got) - before);
}

#endif

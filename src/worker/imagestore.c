/* imagestore.c - dump to / restore from an object store (see imagestore.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "cr/image.h"
#include "store/store.h"
#include "worker/imagestore.h"

/* The directory to work in: dir, or a fresh scratch directory in buf. */
static int work_dir(const char *dir, char *buf, size_t len, const char **out)
{
	*out = dir;
	if (dir)
		return 0;
	if (store_scratch_dir(buf, len) < 0)
		return -1;
	*out = buf;
	return 0;
}

int image_put(const char *url, const char *name, const char *dir, struct image_facts *facts)
{
	struct store_put_stats st = { 0 };
	struct store *s;
	int rc;

	if (store_open(url, &s) < 0)
		return err_wrap("store %s", url);
	rc = store_put_image(s, name, dir, NULL, &st);
	store_close(s);
	if (rc < 0)
		return -1;      /* the store's message names the image */
	if (facts) {
		facts->image_bytes = st.logical_bytes;
		facts->bytes_written = st.bytes_new + st.manifest_bytes;
	}
	return 0;
}

int image_fetch(const char *url, const char *name, const char *dir, uint64_t *bytes)
{
	struct store_get_stats st = { 0 };
	struct store *s;
	int rc;

	if (store_open(url, &s) < 0)
		return err_wrap("store %s", url);
	rc = store_get_image(s, name, 0, dir, &st);
	store_close(s);
	if (rc < 0)
		return -1;      /* the store's message names the image */
	if (bytes)
		*bytes = st.logical_bytes;
	return 0;
}

static void earlier(int64_t *best, int64_t ns)
{
	int64_t ms = (ns + 999999) / 1000000;

	if (ns > 0 && (*best < 0 || ms < *best))
		*best = ms;
}

/* A CPU-time clock does not run while the app is swapped out. */
static int wall_clock(int32_t clock)
{
	return clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC ||
	       clock == CLOCK_BOOTTIME || clock == CLOCK_REALTIME_ALARM ||
	       clock == CLOCK_BOOTTIME_ALARM;
}

static void facts_from_image(const struct cr_image *img, struct image_facts *f)
{
	uint64_t tag = 0;

	f->timer_ms = -1;
	for (uint32_t i = 0; i < img->nr_procs; i++) {
		const struct cr_proc *p = &img->procs[i];

		if (p->zombie)
			continue;
		earlier(&f->timer_ms, p->itimers[0].value_us * 1000);  /* ITIMER_REAL */
		for (uint32_t t = 0; t < p->nr_timers; t++)
			if (wall_clock(p->timers[t].clock))
				earlier(&f->timer_ms, p->timers[t].value_ns);
	}
	for (uint32_t i = 0; i < img->nr_files; i++) {
		const struct cr_file *file = &img->files[i];

		if (file->kind == CR_FILE_TIMERFD && wall_clock(file->tfd.clock))
			earlier(&f->timer_ms, file->tfd.value_ns);
		else if ((file->kind == CR_FILE_TCP || file->kind == CR_FILE_UDP) &&
			 file->inet.custody)
			tag = file->inet.custody;
		else if (file->kind == CR_FILE_UNIX && file->un.custody)
			tag = file->un.custody;
	}
	f->custody_tag[0] = '\0';
	if (tag)
		snprintf(f->custody_tag, sizeof(f->custody_tag), "image-%016llx",
			 (unsigned long long)tag);
}

int image_facts_read(const char *dir, struct image_facts *facts)
{
	struct cr_image img;

	if (cr_image_read(dir, &img) < 0)
		return err_wrap("read image %s", dir);
	facts_from_image(&img, facts);
	cr_image_free(&img);
	return 0;
}

int image_dump_to(pid_t pid, const char *dir, const char *url, const char *name,
		  const struct cr_dump_opts *opts, struct image_facts *facts)
{
	char scratch[4096];
	const char *use;
	int rc;

	if (work_dir(dir, scratch, sizeof(scratch), &use) < 0)
		return -1;
	rc = cr_dump(pid, use, opts);
	if (rc == 0 && facts)
		rc = image_facts_read(use, facts);
	if (rc == 0 && url)
		rc = image_put(url, name, use, facts);
	if (use != dir)
		store_remove_dir(use);
	return rc;
}

int image_restore_from(const char *dir, const char *url, const char *name,
		       const struct cr_restore_opts *opts, pid_t *pid, uint64_t *bytes_read)
{
	char scratch[4096];
	const char *use;
	int rc = 0;

	if (work_dir(dir, scratch, sizeof(scratch), &use) < 0)
		return -1;
	if (url)
		rc = image_fetch(url, name, use, bytes_read);
	if (rc == 0)
		rc = cr_restore_with(use, opts, pid);
	if (use != dir)
		store_remove_dir(use);
	return rc;
}

/* The remaining time of a timer that ran on for elapsed ns (0 stays 0). */
static int64_t advanced(int64_t value, int64_t interval, int64_t elapsed)
{
	if (value <= 0 || elapsed <= 0)
		return value;
	if (elapsed < value)
		return value - elapsed;
	if (interval > 0)
		return interval - (elapsed - value) % interval;
	return 1;                    /* due while stored: fires at once */
}

/* Advance *value by elapsed ns; 1 if it changed. */
static int advance(int64_t *value, int64_t interval, int64_t elapsed)
{
	int64_t v = advanced(*value, interval, elapsed);

	if (v == *value)
		return 0;
	*value = v;
	return 1;
}

static int advance_itimer(struct cr_itimer *it, int64_t ns)
{
	int64_t v = advanced(it->value_us * 1000, it->interval_us * 1000, ns);
	int64_t us = v > 0 ? (v + 999) / 1000 : v;

	if (us == it->value_us)
		return 0;
	it->value_us = us;
	return 1;
}

int image_advance_timers(const char *dir, int64_t elapsed_ms)
{
	int64_t ns = elapsed_ms * 1000000;
	struct cr_image img;
	int changed = 0, rc = 0;

	if (elapsed_ms <= 0)
		return 0;
	if (cr_image_read(dir, &img) < 0)
		return err_wrap("read image %s", dir);
	for (uint32_t i = 0; i < img.nr_procs; i++) {
		struct cr_proc *p = &img.procs[i];

		changed |= advance_itimer(&p->itimers[0], ns);     /* ITIMER_REAL */
		for (uint32_t t = 0; t < p->nr_timers; t++)
			if (wall_clock(p->timers[t].clock))
				changed |= advance(&p->timers[t].value_ns, p->timers[t].interval_ns, ns);
	}
	for (uint32_t i = 0; i < img.nr_files; i++) {
		struct cr_file *f = &img.files[i];

		if (f->kind == CR_FILE_TIMERFD && wall_clock(f->tfd.clock))
			changed |= advance(&f->tfd.value_ns, f->tfd.interval_ns, ns);
	}
	/* Most apps have no armed timer: their image is left as it is. */
	if (changed && cr_image_write(&img, dir) < 0)
		rc = err_wrap("rewrite image %s", dir);
	cr_image_free(&img);
	return rc;
}

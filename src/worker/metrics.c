/* metrics.c - Prometheus text of the daemon's counters (see metrics.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/daemon.h"
#include "worker/metrics.h"

static const double bucket_s[METRICS_BUCKETS - 1] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

void metrics_observe(struct metrics_hist *h, int64_t ms)
{
	double s = (double)ms / 1000.0;
	int i = 0;

	while (i < METRICS_BUCKETS - 1 && s > bucket_s[i])
		i++;
	h->count[i]++;
	h->total++;
	h->sum_s += s;
}

static void put_hist(FILE *f, const char *name, const char *help, const struct metrics_hist *h)
{
	uint64_t cum = 0;

	fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (int i = 0; i < METRICS_BUCKETS - 1; i++) {
		cum += h->count[i];
		fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, bucket_s[i], (unsigned long long)cum);
	}
	fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->total);
	fprintf(f, "%s_sum %.6f\n%s_count %llu\n", name, h->sum_s, name,
		(unsigned long long)h->total);
}

static unsigned long long self_rss_bytes(void)
{
	char line[256];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

static void put_counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
		(unsigned long long)v);
}

static void put_counters(FILE *f, const struct metrics *m)
{
	const struct { const char *name, *help; uint64_t v; } counters[] = {
		{ "picocenter_store_written_bytes_total",
		  "Encoded bytes written to the object store.", m->store_written },
		{ "picocenter_store_read_bytes_total",
		  "Image bytes read from the object store.", m->store_read },
		{ "picocenter_cache_read_bytes_total",
		  "Image bytes read from the local chunk cache at swap-in.", m->cache_read },
		{ "picocenter_local_copy_read_bytes_total",
		  "Bytes of local copies read at swap-in instead of the store.", m->local_read },
		{ "picocenter_local_copy_used_total", "Swap-ins that read a local copy.",
		  m->local_used },
		{ "picocenter_local_copy_rejected_total",
		  "Swap-ins whose local copy failed its checks.", m->local_rejected },
		{ "picocenter_swap_out_failures_total", "Failed swap-outs.",
		  m->swap_out_failures },
		{ "picocenter_swap_in_failures_total", "Failed swap-ins.", m->swap_in_failures },
	};

	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		put_counter(f, counters[i].name, counters[i].help, counters[i].v);
}

char *metrics_render(struct daemon *d)
{
	unsigned per_state[APP_NR_STATES] = { 0 };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	for (struct app *a = d->apps; a; a = a->next)
		per_state[a->state]++;
	fprintf(f, "# HELP picocenter_apps Apps per state.\n# TYPE picocenter_apps gauge\n");
	for (int s = 0; s < APP_NR_STATES; s++)
		if (s != APP_CREATING)
			fprintf(f, "picocenter_apps{state=\"%s\"} %u\n", app_state_name(s), per_state[s]);
	put_hist(f, "picocenter_swap_out_seconds", "Swap-out durations.", &d->m.swap_out);
	put_hist(f, "picocenter_swap_in_seconds", "Swap-in durations.", &d->m.swap_in);
	put_counters(f, &d->m);
	fprintf(f, "# HELP picocenter_daemon_resident_bytes The daemon's resident memory.\n"
		   "# TYPE picocenter_daemon_resident_bytes gauge\npicocenter_daemon_resident_bytes %llu\n",
		self_rss_bytes());
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

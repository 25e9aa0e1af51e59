/*
 * flmock_bench.c — bench_flmock: how fast flmock serves pages of 100 objects
 * over one keep-alive connection.  Starts flmock itself (--scale N, binary
 * from $FLMOCK or --flmock PATH) unless --url points at a running one, then
 * fetches --pages pages of projects and of bids and prints requests/s and
 * MB/s for each.  A benchmark prints figures; it asserts nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "mockutil.h"

static size_t count_bytes(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	*(size_t *)ud += size * n;
	return size * n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Pages of 100 from `path`, walking offsets through the first `span` records. */
static int run(CURL *c, const char *url, const char *path, long pages, long span, const char *label)
{
	struct curl_slist *h = curl_slist_append(NULL, "Freelancer-OAuth-V1: demo");
	size_t bytes = 0;
	char full[512];
	double t0, dt;
	long i, status = 0;
	int rc = 0;

	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, count_bytes);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &bytes);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	t0 = now_s();
	for (i = 0; i < pages; i++) {
		snprintf(full, sizeof full, "%s%s?limit=100&offset=%ld", url, path, (i * 100) % (span > 100 ? span - 100 : 1));
		curl_easy_setopt(c, CURLOPT_URL, full);
		if (curl_easy_perform(c) != CURLE_OK ||
		    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200) {
			fprintf(stderr, "bench_flmock: request %ld failed (HTTP %ld)\n", i, status);
			rc = 1;
			break;
		}
	}
	dt = now_s() - t0;
	printf("%-9s %7ld pages of 100  %8.0f requests/s  %7.1f MB/s  %6.1f KB/page\n", label, i,
	       (double)i / dt, (double)bytes / dt / 1e6, i ? (double)bytes / (double)i / 1e3 : 0);
	curl_slist_free_all(h);
	return rc;
}

int main(int argc, char **argv)
{
	const char *url = NULL, *scale = "1000000";
	long pages = 20000;
	struct mock m = { 0 };
	CURL *c;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--url") == 0 && i + 1 < argc)
			url = argv[++i];
		else if (strcmp(argv[i], "--pages") == 0 && i + 1 < argc)
			pages = atol(argv[++i]);
		else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc)
			scale = argv[++i];
		else if (strcmp(argv[i], "--flmock") == 0 && i + 1 < argc)
			setenv("FLMOCK", argv[++i], 1);
		else {
			fprintf(stderr, "usage: bench_flmock [--url URL | --flmock PATH] [--scale N] [--pages N]\n");
			return 2;
		}
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!url) {
		const char *args[] = { "--scale", scale, "--rate-scale", "1000", NULL };
		double t0 = now_s();

		if (!mock_start(&m, args)) {
			fprintf(stderr, "bench_flmock: cannot start %s\n", mock_binary());
			return 1;
		}
		printf("flmock --scale %s up in %.2f s at %s\n", scale, now_s() - t0, m.url);
		url = m.url;
	}
	c = curl_easy_init();
	rc = run(c, url, "/api/projects/0.1/projects/", pages, 100000, "projects") ||
	     run(c, url, "/api/projects/0.1/bids/", pages, 400000, "bids");
	curl_easy_cleanup(c);
	if (m.pid)
		mock_stop(&m);
	curl_global_cleanup();
	return rc;
}

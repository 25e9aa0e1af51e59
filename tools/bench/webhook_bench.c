/*
 * webhook_bench.c — bench_webhook: what a webhook delivery costs and how fast
 * it reaches the database through the library, as a listener and an
 * early-pass loop would drive it (flsyncd's own listener is not used: the
 * receiver here calls fl_webhook_check() and fl_webhook_receive() after
 * answering 200, and the loop runs a pass as soon as fl_webhook_pass_due()
 * says so).  Starts flmock (--scale N, binary from $FLMOCK or --flmock
 * PATH), syncs once, then:
 *   latency   --changes N times: post a message into one of self's threads
 *             through the API, and time until that message's row is in the
 *             database: p50, p99, max;
 *   requests  per change: requests the webhook_hints stream made, and every
 *             request of those passes;
 *   burst     --changes messages over 10 threads at once, then one pass:
 *             targeted requests after coalescing.
 * A benchmark prints figures; it asserts nothing.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "flsync.h"
#include "hookrecv.h"
#include "mockutil.h"
#include "ratelimit.h"
#include "store.h"
#include "sync.h"

struct listener {
	pthread_mutex_t mu;
	struct fl_db *db;
	long received, refused;
};

static void on_delivery(void *ctx, const char *body, size_t len)
{
	struct listener *l = ctx;

	pthread_mutex_lock(&l->mu);
	if (fl_webhook_check("POST", "/hook", "/hook", body, len) == 200 &&
	    fl_webhook_receive(l->db, body, len, 0, NULL) == FL_OK)
		l->received++;
	else
		l->refused++;
	pthread_mutex_unlock(&l->mu);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int64_t scalar(struct fl_db *db, const char *sql, int64_t bind)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (bind)
		sqlite3_bind_int64(st, 1, bind);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct bench {
	struct mock m;
	struct fl_db *db;
	struct http_client *http;
	struct ratelimit *rl;
	struct sync_options opt;
	struct listener l;         /* the receiver's side: its own connection */
	struct hookrecv *h;
	int64_t *threads;
	size_t nthreads;
	char dir[32];              /* the temporary directory of bench.db */
	const char *scale;         /* flmock --scale */
	long changes;              /* --changes */
};

static int pass(struct bench *b, int64_t *requests)
{
	struct fl_sync_report rep;
	struct fl_error err;
	int rc = sync_pass(b->db, b->http, b->rl, &b->opt, &rep, &err);

	if (rc)
		fprintf(stderr, "bench_webhook: sync pass: %s\n", err.msg);
	if (requests)
		*requests += rep.requests;
	return rc;
}

/* Post a message into thread t; the new message's id, or 0. */
static int64_t post_message(struct bench *b, int64_t t, int i)
{
	char path[128], body[64];
	struct resp r;
	yajl_val v;
	int64_t id = 0;

	snprintf(path, sizeof path, "/api/messages/0.1/threads/%lld/messages/", (long long)t);
	snprintf(body, sizeof body, "message=change+%d", i);
	mock_call(&b->m, "POST", path, body, "application/x-www-form-urlencoded", NULL, &r);
	v = resp_json(&r);
	if (r.status == 200)
		id = jint(jget(v, "result", NULL), "id");
	yajl_tree_free(v);
	resp_free(&r);
	return id;
}

static int64_t hint_requests(struct bench *b)
{
	return scalar(b->db, "SELECT coalesce((SELECT requests FROM sync_state WHERE stream = 'webhook_hints'), 0)", 0);
}

/* --scale, --changes, --flmock; false after the usage line. */
static bool parse_args(struct bench *b, int argc, char **argv)
{
	const char *flmock = NULL;

	b->scale = "20000";
	b->changes = 200;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--scale") && i + 1 < argc)
			b->scale = argv[++i];
		else if (!strcmp(argv[i], "--changes") && i + 1 < argc)
			b->changes = atol(argv[++i]);
		else if (!strcmp(argv[i], "--flmock") && i + 1 < argc)
			flmock = argv[++i];
		else {
			fprintf(stderr, "usage: bench_webhook [--scale N] [--changes N] [--flmock PATH]\n");
			return false;
		}
	}
	if (b->changes < 10)
		b->changes = 10;
	if (flmock)
		setenv("FLMOCK", flmock, 1);
	return true;
}

/* The database, the API client and the receiver; the webhook registered with flmock. */
static bool open_all(struct bench *b)
{
	struct fl_webhook_api api = { .api = b->m.url, .token = "demo" };
	struct http_config hc = { .base_url = b->m.url, .token = "demo" };
	struct fl_webhook_list *list = NULL;
	struct fl_error err;
	char path[64];

	snprintf(b->dir, sizeof b->dir, "/tmp/bench_webhook.XXXXXX");
	if (!mkdtemp(b->dir)) {
		b->dir[0] = '\0';
		return false;
	}
	snprintf(path, sizeof path, "%s/bench.db", b->dir);
	if (fl_db_open(path, FL_OPEN_CREATE, &b->db) || fl_db_open(path, 0, &b->l.db) ||
	    http_client_new(&hc, &b->http, &err) || ratelimit_new(1.0, &b->rl, &err))
		return false;
	sync_options_default(&b->opt);
	b->h = hookrecv_start(on_delivery, &b->l);
	if (!b->h)
		return false;
	if (fl_webhook_register(b->db, &api, 0, hookrecv_url(b->h), &list) != FL_OK) {
		fprintf(stderr, "bench_webhook: register: %s\n", fl_errmsg(b->db));
		return false;
	}
	fl_webhook_list_free(list);
	return true;
}

/* The first full sync, and the ten threads the changes are posted into. */
static bool first_sync(struct bench *b)
{
	double t0 = now_ms();
	sqlite3_stmt *st;

	if (pass(b, NULL))
		return false;
	printf("bench_webhook: flmock --scale %s, full sync %.0f ms\n", b->scale, now_ms() - t0);
	if (sqlite3_prepare_v2(b->db->sql, "SELECT id FROM threads WHERE raw IS NOT NULL ORDER BY id LIMIT 10", -1,
			       &st, NULL) != SQLITE_OK)
		return false;
	b->threads = calloc(10, sizeof *b->threads);
	while (b->threads && sqlite3_step(st) == SQLITE_ROW)
		b->threads[b->nthreads++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return b->nthreads > 0;
}

/* latency and requests, one change at a time: post, wait for the pass to be due, pass, find the row. */
static bool measure_latency(struct bench *b)
{
	long changes = b->changes;
	double *lat = calloc((size_t)changes, sizeof *lat);
	int64_t pass_requests = 0, hint0 = hint_requests(b), hint1;
	bool ok = false;

	for (long i = 0; lat && i < changes; i++) {
		double t0 = now_ms();
		int64_t id = post_message(b, b->threads[i % (long)b->nthreads], (int)i);
		int due = 0;

		if (!id) {
			fprintf(stderr, "bench_webhook: posting change %ld failed\n", i);
			goto out;
		}
		for (int spins = 0; spins < 20000; spins++) {
			if (fl_webhook_pass_due(b->db, &due) == FL_OK && due)
				break;
			usleep(1000);
		}
		if (!due || pass(b, &pass_requests))
			goto out;
		if (scalar(b->db, "SELECT count(*) FROM messages WHERE id = ?1", id) != 1) {
			fprintf(stderr, "bench_webhook: message %lld not in the database after its pass\n", (long long)id);
			goto out;
		}
		lat[i] = now_ms() - t0;
	}
	if (!lat)
		goto out;
	hint1 = hint_requests(b);
	qsort(lat, (size_t)changes, sizeof *lat, cmp_double);
	printf("latency   %ld changes (message posted -> delivery -> hint -> pass -> row): p50 %.1f ms, p99 %.1f ms, "
	       "max %.1f ms\n",
	       changes, lat[changes / 2], lat[(changes * 99) / 100 - ((changes * 99) % 100 == 0)], lat[changes - 1]);
	printf("requests  per change: %.2f by webhook_hints (targeted), %.2f in the whole pass\n",
	       (double)(hint1 - hint0) / (double)changes, (double)pass_requests / (double)changes);
	ok = true;
out:
	free(lat);
	return ok;
}

/* burst: many changes, every delivery received, then one pass. */
static bool measure_burst(struct bench *b)
{
	int64_t before = hint_requests(b), reads = 0;
	long posted = 0;

	for (long i = 0; i < b->changes; i++)
		posted += post_message(b, b->threads[i % (long)b->nthreads], (int)(b->changes + i)) != 0;
	for (int spins = 0; spins < 20000; spins++) {
		long got;

		pthread_mutex_lock(&b->l.mu);
		got = b->l.received;
		pthread_mutex_unlock(&b->l.mu);
		if (got >= 2 * b->changes)
			break;
		usleep(1000);
	}
	fl_webhook_hints_pending(b->db, &reads, NULL);
	if (pass(b, NULL))
		return false;
	printf("burst     %ld changes over %zu threads -> %lld hints -> %lld targeted requests (%.3f per change)\n",
	       posted, b->nthreads, (long long)reads, (long long)(hint_requests(b) - before),
	       (double)(hint_requests(b) - before) / (double)posted);
	return true;
}

static void close_all(struct bench *b)
{
	static const char *const files[] = { "bench.db", "bench.db-wal", "bench.db-shm" };
	char path[64];

	hookrecv_stop(b->h);
	fl_db_close(b->l.db);
	http_client_free(b->http);
	ratelimit_free(b->rl);
	fl_db_close(b->db);
	mock_stop(&b->m);
	free(b->threads);
	if (!b->dir[0])
		return;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", b->dir, files[i]);
		unlink(path);
	}
	if (rmdir(b->dir) != 0)
		fprintf(stderr, "bench_webhook: could not remove %s\n", b->dir);
}

int main(int argc, char **argv)
{
	struct bench b = { .l.mu = PTHREAD_MUTEX_INITIALIZER };
	int rc = 1;

	if (!parse_args(&b, argc, argv))
		return 2;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	{
		const char *args[] = { "--scale", b.scale, NULL };

		if (!mock_start(&b.m, args)) {
			fprintf(stderr, "bench_webhook: cannot start flmock (%s)\n", mock_binary());
			curl_global_cleanup();
			return 1;
		}
	}
	if (open_all(&b) && first_sync(&b) && measure_latency(&b) && measure_burst(&b)) {
		printf("deliveries received %ld, refused %ld\n", b.l.received, b.l.refused);
		rc = 0;
	}
	if (rc)
		fprintf(stderr, "bench_webhook: failed%s%s\n", b.db ? ": " : "", b.db ? fl_errmsg(b.db) : "");
	close_all(&b);
	curl_global_cleanup();
	return rc;
}

/*
 * test_ratelimit.c — the rate limiter with time driven by the test: the
 * documented budgets hold in every window over simulated hours of bursts,
 * budgets learned from RateLimit-* headers, 429 pauses with growing and
 * resetting back-off, Retry-After, and endpoint normalisation.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "testutil.h"

static struct ratelimit *new_limiter(double scale)
{
	struct fl_error err = { 0 };
	struct ratelimit *rl = NULL;

	ck_assert_int_eq(ratelimit_new(scale, &rl, &err), FL_OK);
	ck_assert_ptr_nonnull(rl);
	return rl;
}

static struct http_response response(long status)
{
	struct http_response r;

	memset(&r, 0, sizeof r);
	r.status = status;
	r.retry_after = -1;
	r.ratelimit_limit = r.ratelimit_remaining = -1;
	return r;
}

static void expect_endpoint(const char *method, const char *pq, const char *want)
{
	char got[96];

	ratelimit_endpoint(method, pq, got, sizeof got);
	ck_assert_str_eq(got, want);
}

START_TEST(endpoint_normalised)
{
	char small[8];

	expect_endpoint("PUT", "/api/projects/0.1/bids/123/?action=award",
			"PUT /api/projects/0.1/bids/{id}/");
	expect_endpoint("GET", "/api/projects/0.1/bids/?bidders[]=5&limit=100",
			"GET /api/projects/0.1/bids/");
	expect_endpoint("POST", "/api/projects/0.1/projects/16008971/invite/",
			"POST /api/projects/0.1/projects/{id}/invite/");
	expect_endpoint("get", "/api/users/0.1/users/42", "GET /api/users/0.1/users/{id}/");
	expect_endpoint("GET", "/api/users/0.1/self/", "GET /api/users/0.1/self/");
	/* Only whole numeric segments are ids. */
	expect_endpoint("GET", "/api/projects/0.1/v2x/12a/", "GET /api/projects/0.1/v2x/12a/");
	expect_endpoint("GET", "/api/messages/0.1/threads/7/messages/8/#frag",
			"GET /api/messages/0.1/threads/{id}/messages/{id}/");
	/* Truncated, never overflowing. */
	ratelimit_endpoint("GET", "/api/projects/0.1/projects/", small, sizeof small);
	ck_assert_uint_eq(strlen(small), sizeof small - 1);
	ck_assert_str_eq(small, "GET /ap");
}
END_TEST

/*
 * A greedy client: bursts of up to 40 requests, sending whenever the
 * limiter allows, pauses of random length between bursts, for `hours`
 * simulated hours.  Returns the send times (caller frees), count in *n.
 */
static int64_t *drive_bursts(struct ratelimit *rl, const char *endpoint, int hours, size_t *n)
{
	size_t cap = 1024;
	int64_t *t = malloc(cap * sizeof *t), now = 1000000;
	const int64_t end = now + (int64_t)hours * 3600 * 1000;
	unsigned seed = 7;

	ck_assert_ptr_nonnull(t);
	*n = 0;
	while (now < end) {
		int burst = 1 + (int)(rand_r(&seed) % 40);

		for (int i = 0; i < burst && now < end; i++) {
			int64_t d = ratelimit_delay_ms(rl, endpoint, now);

			ck_assert_int_ge(d, 0);
			now += d;
			/* Asked again at the promised time, it must say go. */
			ck_assert_int_eq(ratelimit_delay_ms(rl, endpoint, now), 0);
			ratelimit_sent(rl, endpoint, now);
			if (*n == cap) {
				cap *= 2;
				t = realloc(t, cap * sizeof *t);
				ck_assert_ptr_nonnull(t);
			}
			t[(*n)++] = now;
			now += rand_r(&seed) % 3; /* requests are not instantaneous */
		}
		now += rand_r(&seed) % 120000;
	}
	return t;
}

/* No span of window_ms holds more than limit sends, and the budget is used. */
static void assert_within(const int64_t *t, size_t n, long limit, int64_t window_ms, int hours)
{
	for (size_t i = (size_t)limit; i < n; i++)
		ck_assert_msg(t[i] - t[i - (size_t)limit] >= window_ms,
			      "%ld+1 sends within %lld ms (sends %zu and %zu)", limit,
			      (long long)window_ms, i - (size_t)limit, i);
	size_t want = (size_t)((double)limit * hours * 3600000.0 / (double)window_ms / 2);

	/*
	 * Not needlessly strict: half the documented rate got through, or
	 * 1,000 sends where the bursts ask for less than that.
	 */
	ck_assert_uint_ge(n, want < 1000 ? want : 1000);
}

struct documented {
	const char *method, *path;
	long limit;
	int64_t window_ms;
};

START_TEST(documented_limits_never_exceeded)
{
	static const struct documented cases[] = {
		{ "POST", "/api/projects/0.1/bids/", 500, 3600000 },
		{ "POST", "/api/projects/0.1/projects/", 50, 3600000 },
		{ "POST", "/api/projects/0.1/projects/123/invite/", 100, 3600000 },
		{ "POST", "/api/projects/0.1/reviews/", 100, 3600000 },
		{ "GET", "/api/users/0.1/users/?users[]=1&users[]=2", 200, 60000 },
		{ "GET", "/api/users/0.1/users/99/", 200, 60000 },
		{ "GET", "/api/users/0.1/users/self/", 1000, 3600000 },
		{ "GET", "/api/users/0.1/self/", 1000, 3600000 },
		{ "GET", "/api/users/0.1/reputations/", 1000, 3600000 },
	};
	const struct documented *c = &cases[_i];
	struct ratelimit *rl = new_limiter(1.0);
	char ep[96];
	size_t n;
	int64_t *t;

	ratelimit_endpoint(c->method, c->path, ep, sizeof ep);
	t = drive_bursts(rl, ep, 3, &n);
	assert_within(t, n, c->limit, c->window_ms, 3);
	free(t);
	ratelimit_free(rl);
}
END_TEST

/* Search Users also has 5000/hour per IP on top of 200/minute. */
START_TEST(users_both_windows)
{
	struct ratelimit *rl = new_limiter(1.0);
	size_t n;
	int64_t *t, now = 0;
	const char *ep = "GET /api/users/0.1/users/";

	long first_hour = 0;

	/* As fast as allowed: 200/minute would give 12,000; the hour caps it. */
	for (;;) {
		now += ratelimit_delay_ms(rl, ep, now);
		if (now >= 3600000)
			break;
		ratelimit_sent(rl, ep, now);
		first_hour++;
	}
	ck_assert_int_eq(first_hour, 5000);
	ratelimit_free(rl);
	rl = new_limiter(1.0);
	t = drive_bursts(rl, ep, 2, &n);
	assert_within(t, n, 200, 60000, 2);
	for (size_t i = 5000; i < n; i++)
		ck_assert_int_ge(t[i] - t[i - 5000], 3600000);
	free(t);
	ratelimit_free(rl);
}
END_TEST

/* Distinct ids of one family share one budget; /self/ and /users/self/ too. */
START_TEST(families_share_budget)
{
	struct ratelimit *rl = new_limiter(1.0);
	char ep[96];
	int64_t now = 0;

	for (int i = 0; i < 100; i++) {
		char path[64];

		snprintf(path, sizeof path, "/api/projects/0.1/projects/%d/invite/", 1000 + i);
		ratelimit_endpoint("POST", path, ep, sizeof ep);
		ck_assert_int_eq(ratelimit_delay_ms(rl, ep, now), 0);
		ratelimit_sent(rl, ep, now);
	}
	ratelimit_endpoint("POST", "/api/projects/0.1/projects/5/invite/", ep, sizeof ep);
	ck_assert_int_eq(ratelimit_delay_ms(rl, ep, now), 3600000);

	for (int i = 0; i < 500; i++)
		ratelimit_sent(rl, "GET /api/users/0.1/self/", now);
	for (int i = 0; i < 500; i++)
		ratelimit_sent(rl, "GET /api/users/0.1/users/self/", now);
	ck_assert_int_gt(ratelimit_delay_ms(rl, "GET /api/users/0.1/self/", now), 0);
	ck_assert_int_gt(ratelimit_delay_ms(rl, "GET /api/users/0.1/users/self/", now), 0);
	ratelimit_free(rl);
}
END_TEST

START_TEST(scale_multiplies_budgets)
{
	struct ratelimit *rl = new_limiter(0.1);
	struct fl_error err = { 0 };
	struct ratelimit *bad = NULL;
	size_t n;
	int64_t *t;

	t = drive_bursts(rl, "POST /api/projects/0.1/bids/", 2, &n);
	assert_within(t, n, 50, 3600000, 2);
	free(t);
	/* 50 * 0.01 rounds down to 0: still one request per hour, never none. */
	ratelimit_free(rl);
	rl = new_limiter(0.01);
	ck_assert_int_eq(ratelimit_delay_ms(rl, "POST /api/projects/0.1/projects/", 0), 0);
	ratelimit_sent(rl, "POST /api/projects/0.1/projects/", 0);
	ck_assert_int_eq(ratelimit_delay_ms(rl, "POST /api/projects/0.1/projects/", 10), 3600000 - 10);
	ratelimit_free(rl);

	ck_assert_int_eq(ratelimit_new(0.0, &bad, &err), FL_ERR_MISUSE);
	ck_assert_ptr_null(bad);
	ck_assert_int_eq(ratelimit_new(-1.0, &bad, &err), FL_ERR_MISUSE);
}
END_TEST

START_TEST(undocumented_unlimited)
{
	struct ratelimit *rl = new_limiter(1.0);
	const char *ep = "GET /api/projects/0.1/projects/";

	for (int i = 0; i < 20000; i++) {
		ck_assert_int_eq(ratelimit_delay_ms(rl, ep, 5), 0);
		ratelimit_sent(rl, ep, 5);
	}
	ratelimit_free(rl);
}
END_TEST

START_TEST(headers_teach_budget)
{
	struct ratelimit *rl = new_limiter(1.0);
	struct http_response r = response(200);
	const char *ep = "GET /api/projects/0.1/bids/";
	int64_t now = 0;
	int sent = 0;

	/* The first figure alone: taken as a per-minute budget. */
	r.ratelimit_limit = 5;
	ratelimit_sent(rl, ep, now);
	ratelimit_observe(rl, ep, &r, now);
	while (ratelimit_delay_ms(rl, ep, now) == 0 && sent < 100) {
		ratelimit_sent(rl, ep, now);
		sent++;
	}
	ck_assert_int_eq(sent, 5);
	ck_assert_int_eq(ratelimit_delay_ms(rl, ep, now), 60000);
	ck_assert_int_eq(ratelimit_delay_ms(rl, ep, now + 60000), 0);
	ratelimit_free(rl);
}
END_TEST

START_TEST(remaining_zero_waits)
{
	struct ratelimit *rl = new_limiter(1.0);
	struct http_response r = response(200);
	const char *ep = "GET /api/messages/0.1/threads/";
	int64_t d;

	/* Remaining counts down with our own sends, and 0 stops them. */
	r.ratelimit_remaining = 2;
	ratelimit_observe(rl, ep, &r, 1000);
	ck_assert_int_eq(ratelimit_delay_ms(rl, ep, 1000), 0);
	ratelimit_sent(rl, ep, 1000);
	ck_assert_int_eq(ratelimit_delay_ms(rl, ep, 1000), 0);
	ratelimit_sent(rl, ep, 1000);
	d = ratelimit_delay_ms(rl, ep, 1000);
	ck_assert_int_gt(d, 0);
	ck_assert_int_le(d, 60000);
	ck_assert_int_eq(ratelimit_delay_ms(rl, ep, 1000 + d), 0);

	/* A fresh header resets what we believe. */
	r.ratelimit_remaining = 0;
	ratelimit_observe(rl, ep, &r, 100000);
	ck_assert_int_gt(ratelimit_delay_ms(rl, ep, 100000), 0);
	r.ratelimit_remaining = 10;
	ratelimit_observe(rl, ep, &r, 100001);
	ck_assert_int_eq(ratelimit_delay_ms(rl, ep, 100001), 0);
	ratelimit_free(rl);
}
END_TEST

START_TEST(full_header_windows)
{
	struct ratelimit *rl = new_limiter(1.0);
	struct ratelimit_state st[4];
	const char *ep = "GET /api/projects/0.1/projects/active/";
	size_t n;
	int64_t *t;

	ratelimit_learn(rl, ep, "50, 50;window=60, 1000;window=3600", -1, 0);
	t = drive_bursts(rl, ep, 3, &n);
	assert_within(t, n, 50, 60000, 3);
	for (size_t i = 1000; i < n; i++)
		ck_assert_int_ge(t[i] - t[i - 1000], 3600000);
	ck_assert_uint_ge(n, 2000);
	free(t);
	ck_assert_uint_eq(ratelimit_snapshot(rl, st, 4, 0), 1);
	ck_assert_str_eq(st[0].endpoint, ep);

	/* Learning the same policy again keeps the send history. */
	ratelimit_learn(rl, ep, "50, 50;window=60, 1000;window=3600", -1, 0);
	ratelimit_learn(rl, ep, "garbage, ;;, -3", 0, 0);
	ck_assert_int_gt(ratelimit_delay_ms(rl, ep, 0), 0);
	ratelimit_free(rl);
}
END_TEST

START_TEST(backoff_grows_and_resets)
{
	struct ratelimit *rl = new_limiter(1.0);
	struct http_response too_many = response(429), ok = response(200);
	const char *ep = "GET /api/projects/0.1/projects/active/";
	int64_t now = 0, prev_lo = 0;

	for (int i = 0; i < 14; i++) {
		int64_t nominal = 1000LL << i, d;

		if (nominal > 300000)
			nominal = 300000;
		ratelimit_observe(rl, ep, &too_many, now);
		d = ratelimit_delay_ms(rl, ep, now);
		ck_assert_int_ge(d, nominal * 8 / 10);
		ck_assert_int_le(d, 300000);
		ck_assert_int_le(d, nominal * 12 / 10);
		ck_assert_int_ge(d, prev_lo);
		prev_lo = nominal * 8 / 10;
		/* Only that endpoint waits. */
		ck_assert_int_eq(ratelimit_delay_ms(rl, "GET /api/projects/0.1/bids/", now), 0);
		ck_assert_int_eq(ratelimit_delay_ms(rl, ep, now + d), 0);
		now += d;
	}
	/* Any other answer ends the pause and the back-off starts over. */
	ratelimit_observe(rl, ep, &too_many, now);
	ck_assert_int_gt(ratelimit_delay_ms(rl, ep, now), 0);
	ratelimit_observe(rl, ep, &ok, now);
	ck_assert_int_eq(ratelimit_delay_ms(rl, ep, now), 0);
	ratelimit_observe(rl, ep, &too_many, now);
	ck_assert_int_le(ratelimit_delay_ms(rl, ep, now), 1200);
	/* A transport failure (no status) teaches nothing. */
	ok.status = 0;
	ratelimit_observe(rl, ep, &ok, now);
	ck_assert_int_gt(ratelimit_delay_ms(rl, ep, now), 0);
	ratelimit_free(rl);
}
END_TEST

START_TEST(retry_after_honoured)
{
	struct ratelimit *rl = new_limiter(1.0);
	struct http_response r = response(429);
	struct ratelimit_state st[4];
	const char *ep = "POST /api/projects/0.1/bids/";

	r.retry_after = 7;
	ratelimit_observe(rl, ep, &r, 5000);
	ck_assert_int_eq(ratelimit_delay_ms(rl, ep, 5000), 7000);
	ck_assert_int_eq(ratelimit_delay_ms(rl, ep, 11999), 1);
	ck_assert_int_eq(ratelimit_delay_ms(rl, ep, 12000), 0);
	ck_assert_uint_eq(ratelimit_snapshot(rl, st, 4, 6000), 1);
	ck_assert_int_eq(st[0].paused_until_ms, 12000);
	ck_assert_int_eq(st[0].limit, 500);
	ck_assert_int_eq(st[0].window_s, 3600);
	ck_assert_int_eq(st[0].remaining, 500);

	/* A long Retry-After is honoured as given, past the back-off cap. */
	r.retry_after = 900;
	ratelimit_observe(rl, ep, &r, 20000);
	ck_assert_int_eq(ratelimit_delay_ms(rl, ep, 20000), 900000);
	ratelimit_free(rl);
}
END_TEST

START_TEST(snapshot_reports)
{
	struct ratelimit *rl = new_limiter(1.0);
	struct ratelimit_state st[8];
	size_t n;

	for (int i = 0; i < 3; i++)
		ratelimit_sent(rl, "GET /api/users/0.1/users/", 0);
	ratelimit_sent(rl, "GET /api/projects/0.1/projects/", 0);
	n = ratelimit_snapshot(rl, st, 8, 1000);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(st[0].endpoint, "GET /api/users/0.1/users/");
	ck_assert_int_eq(st[0].limit, 200);
	ck_assert_int_eq(st[0].window_s, 60);
	ck_assert_int_eq(st[0].remaining, 197);
	ck_assert_int_eq(st[0].paused_until_ms, 0);
	ck_assert_int_eq(st[1].limit, -1);
	ck_assert_int_eq(st[1].remaining, -1);
	/* The minute passed: the budget is whole again. */
	ratelimit_snapshot(rl, st, 1, 61000);
	ck_assert_int_eq(st[0].remaining, 200);
	ck_assert_uint_eq(ratelimit_snapshot(rl, st, 1, 0), 1);
	ratelimit_free(NULL);
	ratelimit_free(rl);
}
END_TEST

static Suite *ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, endpoint_normalised);
	tcase_add_loop_test(tc, documented_limits_never_exceeded, 0, 9);
	tcase_add_test(tc, users_both_windows);
	tcase_add_test(tc, families_share_budget);
	tcase_add_test(tc, scale_multiplies_budgets);
	tcase_add_test(tc, undocumented_unlimited);
	tcase_add_test(tc, headers_teach_budget);
	tcase_add_test(tc, remaining_zero_waits);
	tcase_add_test(tc, full_header_windows);
	tcase_add_test(tc, backoff_grows_and_resets);
	tcase_add_test(tc, retry_after_honoured);
	tcase_add_test(tc, snapshot_reports);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(ratelimit_suite());
}

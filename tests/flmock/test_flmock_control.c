/*
 * test_flmock_control.c — flmock's machinery around the API: rate limits (429 and
 * the RateLimit headers), every fault kind and whether a faulted write was
 * applied, the simulator clock and /_mock/advance activity, determinism
 * (same seed, same bytes), /_mock/silent_edit (a change no time tells of),
 * /_mock/stats, --latency (concurrent requests overlap their latency;
 * max_in_flight counts them), and a clean exit on SIGTERM.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../check_main.h"
#include "mockutil.h"

/* ---- rate limits --------------------------------------------------------------------- */

START_TEST(rate_limits)
{
	const char *args[] = { "--rate-scale", "0.01", NULL };
	struct mock m;
	struct resp r;
	char buf[128];

	mock_must_start(&m, args);
	/* Get User Information: 200 per user per minute, scaled to 2. */
	mock_get(&m, "/api/users/0.1/users/?limit=1", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.rl_limit, "2, 2;window=60");
	ck_assert_int_eq(r.rl_remaining, 1);
	resp_free(&r);
	mock_get(&m, "/api/users/0.1/users/?limit=1", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.rl_remaining, 0);
	resp_free(&r);
	mock_get(&m, "/api/users/0.1/users/?limit=1", &r);
	ck_assert_int_eq(r.status, 429);
	ck_assert_str_eq(resp_error_code(&r, buf, sizeof buf), "AuthorisationExceptionCodes.RATE_LIMITED");
	ck_assert_str_eq(r.rl_limit, "2, 2;window=60");
	ck_assert_int_eq(r.rl_remaining, 0);
	resp_free(&r);
	/* other endpoints count separately; unlisted ones get the generous default */
	mock_get(&m, "/api/projects/0.1/bids/?limit=1", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.rl_limit, "10000, 10000;window=3600");
	resp_free(&r);
	/* the window is timed by the simulator's advances too */
	ck_assert_int_gt(mock_advance(&m, 60), 0);
	mock_get(&m, "/api/users/0.1/users/?limit=1", &r);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	/* Create Bid: 500 per hour -> 5 */
	mock_call(&m, "POST", "/api/projects/0.1/bids/", "{}", NULL, NULL, &r);
	ck_assert_str_eq(r.rl_limit, "5, 5;window=3600");
	resp_free(&r);
	mock_stop(&m);
	ck_assert_int_eq(m.exit_status, 0);
}
END_TEST

/* ---- faults ----------------------------------------------------------------------------- */

static void set_faults(struct mock *m, const char *spec)
{
	char path[256];
	struct resp r;

	snprintf(path, sizeof path, "/_mock/faults?spec=%s", spec);
	mock_call(m, "POST", path, NULL, NULL, "", &r);
	ck_assert_msg(r.status == 200, "set faults %s: %ld %s", spec, r.status, r.body);
	resp_free(&r);
}

static size_t count_of(struct mock *m, const char *entity)
{
	struct dump d;
	size_t n;

	ck_assert(mock_dump(m, entity, &d));
	n = d.n;
	dump_free(&d);
	return n;
}

/* The last line of /_mock/log, parsed. */
static yajl_val last_log(struct mock *m)
{
	struct resp r;
	char *last, err[64];
	yajl_val v;

	mock_call(m, "GET", "/_mock/log", NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_gt(r.len, 0);
	r.body[r.len - 1] = '\0';
	last = strrchr(r.body, '\n');
	v = yajl_tree_parse(last ? last + 1 : r.body, err, sizeof err);
	resp_free(&r);
	ck_assert_ptr_nonnull(v);
	return v;
}

static long long some_other_user(struct mock *m)
{
	struct dump d;
	long long self = mock_self(m), id;

	ck_assert(mock_dump(m, "users", &d));
	id = jint(d.rows[0], "id") == self ? jint(d.rows[1], "id") : jint(d.rows[0], "id");
	dump_free(&d);
	return id;
}

START_TEST(each_fault_kind)
{
	const char *args[] = { "--seed", "3", NULL };
	struct mock m;
	struct resp r;
	char buf[128], body[128];
	yajl_val v;
	size_t threads;

	mock_must_start(&m, args);
	snprintf(body, sizeof body, "members[]=%lld&context_type=general", some_other_user(&m));

	set_faults(&m, "http500=1");
	mock_get(&m, "/api/projects/0.1/projects/?limit=1", &r);
	ck_assert_int_eq(r.status, 500);
	ck_assert_str_eq(resp_error_code(&r, buf, sizeof buf), "RestExceptionCodes.INTERNAL_SERVER_ERROR");
	resp_free(&r);
	/* /_mock/ is never faulted */
	mock_call(&m, "GET", "/_mock/clock", NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	/* a faulted write is not applied, and the log says so */
	threads = count_of(&m, "threads");
	mock_call(&m, "POST", "/api/messages/0.1/threads/", body, "application/x-www-form-urlencoded", NULL, &r);
	ck_assert_int_eq(r.status, 500);
	resp_free(&r);
	ck_assert_uint_eq(count_of(&m, "threads"), threads);
	v = last_log(&m);
	ck_assert(YAJL_IS_FALSE(jget(v, "applied", NULL)));
	ck_assert_str_eq(jstr(v, "fault"), "http500");
	yajl_tree_free(v);

	set_faults(&m, "html503=1");
	mock_get(&m, "/api/projects/0.1/projects/?limit=1", &r);
	ck_assert_int_eq(r.status, 503);
	ck_assert_msg(strncmp(r.ctype, "text/html", 9) == 0, "content type %s", r.ctype);
	ck_assert_ptr_null(resp_json(&r));
	ck_assert_ptr_nonnull(strstr(r.body, "<html>"));
	resp_free(&r);

	set_faults(&m, "rate429=1");
	mock_get(&m, "/api/projects/0.1/projects/?limit=1", &r);
	ck_assert_int_eq(r.status, 429);
	ck_assert_str_eq(resp_error_code(&r, buf, sizeof buf), "AuthorisationExceptionCodes.RATE_LIMITED");
	resp_free(&r);

	set_faults(&m, "truncate=1");
	mock_get(&m, "/api/projects/0.1/projects/?limit=20", &r);
	ck_assert_int_eq(r.rc, CURLE_PARTIAL_FILE);
	resp_free(&r);

	set_faults(&m, "malformed=1");
	mock_get(&m, "/api/projects/0.1/projects/?limit=3", &r);
	ck_assert_int_eq(r.rc, CURLE_OK);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_null(resp_json(&r));
	resp_free(&r);
	/* malformed, truncated or stalled writes are refused unapplied (503) */
	mock_call(&m, "POST", "/api/messages/0.1/threads/", body, "application/x-www-form-urlencoded", NULL, &r);
	ck_assert_int_eq(r.status, 503);
	resp_free(&r);
	ck_assert_uint_eq(count_of(&m, "threads"), threads);

	set_faults(&m, "reset=1");
	mock_get(&m, "/api/projects/0.1/projects/?limit=1", &r);
	ck_assert_msg(r.rc == CURLE_GOT_NOTHING || r.rc == CURLE_RECV_ERROR, "curl %d", r.rc);
	resp_free(&r);

	set_faults(&m, "stall=1,stall_ms=200");
	mock_get(&m, "/api/projects/0.1/projects/?limit=1", &r);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);

	/* lostreply: the write is applied, the answer never arrives */
	set_faults(&m, "lostreply=1");
	mock_call(&m, "POST", "/api/messages/0.1/threads/", body, "application/x-www-form-urlencoded", NULL, &r);
	ck_assert_msg(r.rc == CURLE_GOT_NOTHING || r.rc == CURLE_RECV_ERROR, "curl %d", r.rc);
	resp_free(&r);
	set_faults(&m, "");
	ck_assert_uint_eq(count_of(&m, "threads"), threads + 1);
	v = last_log(&m);
	ck_assert(YAJL_IS_TRUE(jget(v, "applied", NULL)));
	ck_assert_str_eq(jstr(v, "fault"), "lostreply");
	ck_assert_int_gt(jint(v, "id"), 0);
	yajl_tree_free(v);
	/* ... so the retry finds the same thread */
	mock_call(&m, "POST", "/api/messages/0.1/threads/", body, "application/x-www-form-urlencoded", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	ck_assert_uint_eq(count_of(&m, "threads"), threads + 1);

	mock_stop(&m);
}
END_TEST

/* A spec /_mock/faults cannot read is refused in JSON whatever it holds, naming the key it did not know. */
START_TEST(fault_spec_refused)
{
	struct mock m;
	struct resp r;
	yajl_val v;

	mock_must_start(&m, NULL);
	mock_call(&m, "POST", "/_mock/faults?spec=bogus=1", NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 400);
	resp_free(&r);
	mock_call(&m, "POST", "/_mock/faults?spec=x%22y=1", NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 400);
	v = resp_json(&r);
	ck_assert_msg(v && jstr(v, "error") && strstr(jstr(v, "error"), "'x\"y'"), "not JSON naming the key: %s", r.body);
	yajl_tree_free(v);
	resp_free(&r);
	mock_stop(&m);
}
END_TEST

/* The n-th request's fate: status, or the negated curl error. */
static void fault_sequence(long *out, int n)
{
	const char *args[] = { "--seed", "11", "--faults", "http500=0.2,html503=0.1,reset=0.1,truncate=0.1", NULL };
	struct mock m;
	int i;

	mock_must_start(&m, args);
	for (i = 0; i < n; i++) {
		struct resp r;

		mock_get(&m, "/api/projects/0.1/bids/?limit=5", &r);
		out[i] = r.rc == CURLE_OK ? r.status : -(long)r.rc;
		resp_free(&r);
	}
	mock_stop(&m);
}

START_TEST(faults_are_deterministic)
{
	long a[60], b[60];
	int i, faulted = 0, ok = 0;

	fault_sequence(a, 60);
	fault_sequence(b, 60);
	for (i = 0; i < 60; i++) {
		ck_assert_int_eq(a[i], b[i]);
		faulted += a[i] != 200;
		ok += a[i] == 200;
	}
	ck_assert_int_gt(faulted, 5);
	ck_assert_int_gt(ok, 5);
}
END_TEST

/* ---- clock and activity ---------------------------------------------------------------------- */

START_TEST(clock_and_advance)
{
	const char *args[] = { "--seed", "9", NULL };
	struct mock m;
	struct resp r;
	struct dump bids;
	size_t before_bids = 0, before_msgs, i, fresh = 0;
	long long ids[5000];
	char path[256];
	long n;

	mock_must_start(&m, args);
	before_bids = count_of(&m, "bids");
	before_msgs = count_of(&m, "messages");
	ck_assert_int_eq(mock_advance(&m, 7200), 1767225600LL + 7200);
	mock_get(&m, "/api/projects/0.1/projects/?limit=1", &r);
	ck_assert_str_eq(r.date, "Thu, 01 Jan 2026 02:00:00 GMT");
	resp_free(&r);
	ck_assert(mock_dump(&m, "bids", &bids));
	ck_assert_uint_gt(bids.n, before_bids);
	ck_assert_uint_gt(count_of(&m, "messages"), before_msgs);
	for (i = before_bids; i < bids.n; i++) {
		long long t = jint(bids.rows[i], "time_submitted");

		ck_assert(t > 1767225600LL && t <= 1767225600LL + 7200);
		fresh++;
	}
	/* the new bids are exactly the created-time window of the advance */
	n = mock_collect_ids(&m, "/api/projects/0.1/bids/?from_time=1767225601&to_time=1767232801", "bids", ids, 5000);
	ck_assert_int_eq(n, (long)fresh);
	dump_free(&bids);
	/* and updated-time windows see what changed */
	snprintf(path, sizeof path, "/api/messages/0.1/threads/?from_updated_time=%lld", 1767225601LL);
	ck_assert_int_gt(mock_collect_ids(&m, path, "threads", ids, 5000), 0);
	snprintf(path, sizeof path, "/api/projects/0.1/projects/active/?from_time=%lld", 1767225601LL);
	ck_assert_int_gt(mock_collect_ids(&m, path, "projects", ids, 5000), 0);
	/* quiet=S: no activity in the last S seconds of the advance */
	mock_call(&m, "POST", "/_mock/advance?seconds=3600&quiet=600", NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"events\":300"));
	resp_free(&r);
	n = mock_collect_ids(&m, "/api/projects/0.1/bids/?from_time=1767235801", "bids", ids, 5000);
	ck_assert_int_eq(n, 0);
	snprintf(path, sizeof path, "/api/messages/0.1/messages/?from_updated_time=%lld", 1767232801LL);
	ck_assert_int_gt(mock_collect_ids(&m, path, "messages", ids, 5000), 0);
	snprintf(path, sizeof path, "/api/messages/0.1/messages/?from_updated_time=%lld", 1767235801LL);
	ck_assert_int_eq(mock_collect_ids(&m, path, "messages", ids, 5000), 0);
	mock_call(&m, "POST", "/_mock/advance?seconds=x", NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 400);
	resp_free(&r);
	mock_stop(&m);
	ck_assert_int_eq(m.exit_status, 0);
}
END_TEST

/* ---- determinism --------------------------------------------------------------------------------- */

static char *all_bytes(const char *seed, bool advance)
{
	static const char *const entities[] = {
		"users", "projects", "bids", "milestones", "milestone_requests", "reviews", "threads", "messages",
	};
	const char *args[] = { "--seed", seed, "--scale", "3000", NULL };
	struct mock m;
	size_t len = 0, i;
	char *out = NULL;

	mock_must_start(&m, args);
	if (advance)
		ck_assert_int_gt(mock_advance(&m, 86400), 0);
	for (i = 0; i < 9; i++) {
		struct resp r;
		char path[128];

		if (i < 8)
			snprintf(path, sizeof path, "/_mock/dump?entity=%s", entities[i]);
		else
			snprintf(path, sizeof path, "/api/projects/0.1/bids/?limit=30");
		mock_call(&m, "GET", path, NULL, NULL, i < 8 ? "" : NULL, &r);
		ck_assert_int_eq(r.status, 200);
		out = realloc(out, len + r.len + 1);
		memcpy(out + len, r.body, r.len);
		len += r.len;
		out[len] = '\0';
		resp_free(&r);
	}
	mock_stop(&m);
	return out;
}

START_TEST(same_seed_same_bytes)
{
	char *a = all_bytes("77", false), *b = all_bytes("77", false), *c = all_bytes("78", false);
	char *d = all_bytes("77", true), *e = all_bytes("77", true);

	ck_assert_uint_gt(strlen(a), 100000);
	ck_assert(strcmp(a, b) == 0);
	ck_assert(strcmp(a, c) != 0);
	ck_assert(strcmp(d, e) == 0);
	ck_assert(strcmp(a, d) != 0);
	free(a);
	free(b);
	free(c);
	free(d);
	free(e);
}
END_TEST

static long count_where(const struct dump *d, const char *field, const char *value)
{
	size_t i;
	long n = 0;

	for (i = 0; i < d->n; i++) {
		yajl_val v = jget(d->rows[i], field, NULL);
		const char *s = jstr(d->rows[i], field);

		n += value ? (s && strcmp(s, value) == 0) : YAJL_IS_TRUE(v);
	}
	return n;
}

/* A simulated day: others award, accept, revoke, retract, close and delete. */
START_TEST(advance_changes_state)
{
	/* Under valgrind the parsing of the dumps is what costs: a smaller world. */
	const char *args[] = { "--seed", "21", "--scale", getenv("FL_UNDER_VALGRIND") ? "6000" : "10000", NULL };
	struct mock m;
	struct dump before_b, after_b, before_p, after_p;

	mock_must_start(&m, args);
	ck_assert(mock_dump(&m, "bids", &before_b));
	ck_assert(mock_dump(&m, "projects", &before_p));
	ck_assert_int_gt(mock_advance(&m, 2 * 86400), 0);
	ck_assert(mock_dump(&m, "bids", &after_b));
	ck_assert(mock_dump(&m, "projects", &after_p));
	ck_assert_int_gt(count_where(&after_p, "deleted", NULL), count_where(&before_p, "deleted", NULL));
	ck_assert_int_gt(count_where(&after_p, "status", "closed"), count_where(&before_p, "status", "closed"));
	ck_assert_int_gt(count_where(&after_b, "retracted", NULL), count_where(&before_b, "retracted", NULL));
	ck_assert_int_ne(count_where(&after_b, "award_status", "pending"), count_where(&before_b, "award_status", "pending"));
	ck_assert_int_gt(count_where(&after_b, "award_status", "awarded"), count_where(&before_b, "award_status", "awarded"));
	ck_assert_int_gt(count_where(&after_b, "award_status", "revoked"), count_where(&before_b, "award_status", "revoked"));
	dump_free(&before_b);
	dump_free(&after_b);
	dump_free(&before_p);
	dump_free(&after_p);
	mock_stop(&m);
}
END_TEST

/* The first project of GET path's result, as JSON text of its title and time_updated. */
static void project_of(struct mock *m, long long id, char *title, size_t n, long long *updated)
{
	char path[128];
	struct resp r;
	yajl_val v, arr;

	snprintf(path, sizeof path, "/api/projects/0.1/projects/?projects[]=%lld", id);
	mock_get(m, path, &r);
	ck_assert_int_eq(r.status, 200);
	v = resp_json(&r);
	arr = jget(v, "result", "projects");
	ck_assert(YAJL_IS_ARRAY(arr) && arr->u.array.len == 1);
	snprintf(title, n, "%s", jstr(arr->u.array.values[0], "title"));
	*updated = jint(arr->u.array.values[0], "time_updated");
	yajl_tree_free(v);
	resp_free(&r);
}

START_TEST(silent_edit)
{
	const char *args[] = { "--seed", "5", NULL };
	struct mock m;
	struct resp r, st0, st1;
	char path[160], before[256], after[256];
	long long ids[4], upd0, upd1, now0, now1;
	static const char *const bad[] = { "/_mock/silent_edit?table=projects", "/_mock/silent_edit?table=projects&id=x",
					   "/_mock/silent_edit?table=projects&id=-3", "/_mock/silent_edit?id=1" };
	yajl_val v;

	mock_must_start(&m, args);
	snprintf(path, sizeof path, "/api/projects/0.1/projects/?owners[]=%lld", mock_self(&m));
	ck_assert_int_ge(mock_collect_ids(&m, path, "projects", ids, 4), 1);
	project_of(&m, ids[0], before, sizeof before, &upd0);
	mock_call(&m, "GET", "/_mock/clock", NULL, NULL, "", &st0);
	snprintf(path, sizeof path, "/_mock/silent_edit?table=projects&id=%lld", ids[0]);
	mock_call(&m, "POST", path, NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 200);
	v = resp_json(&r);
	ck_assert_int_eq(jint(v, "id"), ids[0]);
	yajl_tree_free(v);
	resp_free(&r);
	project_of(&m, ids[0], after, sizeof after, &upd1);
	/* The record changed; nothing a time window sees did. */
	ck_assert_str_ne(before, after);
	ck_assert_int_eq(upd0, upd1);
	mock_call(&m, "GET", "/_mock/clock", NULL, NULL, "", &st1);
	v = resp_json(&st0);
	now0 = jint(v, "now");
	yajl_tree_free(v);
	v = resp_json(&st1);
	now1 = jint(v, "now");
	yajl_tree_free(v);
	ck_assert_int_eq(now0, now1);
	resp_free(&st0);
	resp_free(&st1);
	/* Bad input is refused, never a crash: no id, a bad id, an unknown table or record. */
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		mock_call(&m, "POST", bad[i], NULL, NULL, "", &r);
		ck_assert_int_eq(r.status, 400);
		resp_free(&r);
	}
	snprintf(path, sizeof path, "/_mock/silent_edit?table=users&id=%lld", ids[0]);
	mock_call(&m, "POST", path, NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 404);
	resp_free(&r);
	mock_call(&m, "POST", "/_mock/silent_edit?table=bids&id=1", NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 404);
	resp_free(&r);
	mock_stop(&m);
}
END_TEST

START_TEST(stats)
{
	struct mock m;
	struct resp r;
	yajl_val v, ep;

	mock_must_start(&m, NULL);
	mock_get(&m, "/api/projects/0.1/bids/?limit=1", &r);
	resp_free(&r);
	mock_get(&m, "/api/projects/0.1/bids/?limit=x", &r);
	resp_free(&r);
	mock_call(&m, "GET", "/_mock/stats", NULL, NULL, "", &r);
	v = resp_json(&r);
	ck_assert_int_eq(jint(v, "requests"), 2);
	ep = jget(jget(v, "endpoints", NULL), "GET /api/projects/0.1/bids/", NULL);
	ck_assert_ptr_nonnull(ep);
	ck_assert_int_eq(jint(ep, "200"), 1);
	ck_assert_int_eq(jint(ep, "400"), 1);
	ck_assert(YAJL_IS_OBJECT(jget(v, "faults", NULL)));
	yajl_tree_free(v);
	resp_free(&r);
	mock_stop(&m);
}
END_TEST

/* ---- --latency ------------------------------------------------------------------------- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One client of four: its own connection, its request's status and duration. */
struct client {
	struct mock m;             /* url copied, own curl handle, no process */
	long status;
	double ms;
};

static void *client_run(void *arg)
{
	struct client *cl = arg;
	struct resp r;
	double t0 = now_ms();

	mock_get(&cl->m, "/api/projects/0.1/bids/?limit=1", &r);
	cl->ms = now_ms() - t0;
	cl->status = r.status;
	resp_free(&r);
	return NULL;
}

START_TEST(latency_overlaps)
{
	const char *args[] = { "--latency", "200", NULL };
	struct client cl[4];
	pthread_t th[4];
	struct mock m;
	struct resp r;
	yajl_val v;
	double t0, total;
	int i;

	mock_must_start(&m, args);
	for (i = 0; i < 4; i++) {
		memset(&cl[i], 0, sizeof cl[i]);
		snprintf(cl[i].m.url, sizeof cl[i].m.url, "%s", m.url);
		cl[i].m.curl = curl_easy_init();
		ck_assert_ptr_nonnull(cl[i].m.curl);
	}
	t0 = now_ms();
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, client_run, &cl[i]), 0);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	total = now_ms() - t0;
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(cl[i].status, 200);
		ck_assert_msg(cl[i].ms >= 199.0, "request %d took %.0f ms, under the 200 ms latency", i, cl[i].ms);
		curl_easy_cleanup(cl[i].m.curl);
	}
	/* One at a time would be 800 ms; overlapped, about 200. */
	ck_assert_msg(total < 700.0, "four concurrent requests took %.0f ms in all", total);
	/* /_mock/ is answered at once, and counts the requests that overlapped. */
	t0 = now_ms();
	mock_call(&m, "GET", "/_mock/stats", NULL, NULL, "", &r);
	ck_assert_msg(now_ms() - t0 < 150.0, "/_mock/stats took %.0f ms", now_ms() - t0);
	v = resp_json(&r);
	ck_assert_int_eq(jint(v, "latency_ms"), 200);
	ck_assert_int_eq(jint(v, "in_flight"), 0);
	ck_assert_int_ge(jint(v, "max_in_flight"), 2);
	ck_assert_int_le(jint(v, "max_in_flight"), 4);
	yajl_tree_free(v);
	resp_free(&r);
	/* The reset answers the figure as it was, then counts afresh. */
	mock_call(&m, "POST", "/_mock/stats?reset=max_in_flight", NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 200);
	v = resp_json(&r);
	ck_assert_int_ge(jint(v, "max_in_flight"), 2);
	yajl_tree_free(v);
	resp_free(&r);
	mock_call(&m, "GET", "/_mock/stats", NULL, NULL, "", &r);
	v = resp_json(&r);
	ck_assert_int_eq(jint(v, "max_in_flight"), 0);
	yajl_tree_free(v);
	resp_free(&r);
	mock_call(&m, "POST", "/_mock/stats?reset=nonsense", NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 400);
	resp_free(&r);
	mock_stop(&m);
	ck_assert_int_eq(m.exit_status, 0);
}
END_TEST

/* The latency is no fault: the same requests draw the same faults with it or without. */
START_TEST(latency_keeps_faults)
{
	const char *plain[] = { "--seed", "5", "--faults", "http500=0.3,rate429=0.2", NULL };
	const char *slow[] = { "--seed", "5", "--faults", "http500=0.3,rate429=0.2", "--latency", "20", NULL };
	const char *const *args[2] = { plain, slow };
	long status[2][16];
	int run, i;

	for (run = 0; run < 2; run++) {
		struct mock m;
		struct resp r;

		mock_must_start(&m, args[run]);
		for (i = 0; i < 16; i++) {
			double t0 = now_ms();

			mock_get(&m, "/api/projects/0.1/bids/?limit=1", &r);
			status[run][i] = r.status;
			if (run == 1)
				ck_assert_msg(now_ms() - t0 >= 19.0, "request %d took %.1f ms", i, now_ms() - t0);
			resp_free(&r);
		}
		mock_stop(&m);
	}
	for (i = 0; i < 16; i++)
		ck_assert_msg(status[0][i] == status[1][i], "request %d: %ld without latency, %ld with", i,
			      status[0][i], status[1][i]);
}
END_TEST

START_TEST(cli)
{
	const char *bad[] = { "--faults", "nonsense", NULL };
	const char *bad_latency[] = { "--latency", "-5", NULL };
	struct mock m;

	ck_assert(!mock_start(&m, bad));
	ck_assert_int_ne(m.exit_status, 0);
	ck_assert(!mock_start(&m, bad_latency));
	ck_assert_int_ne(m.exit_status, 0);
}
END_TEST

int main(void)
{
	const TTest *tests[] = {
		rate_limits,
		each_fault_kind,
		fault_spec_refused,
		faults_are_deterministic,
		clock_and_advance,
		same_seed_same_bytes,
		advance_changes_state,
		silent_edit,
		stats,
		latency_overlaps,
		latency_keeps_faults,
		cli,
		NULL,
	};
	const struct check_case cases[] = {
		{ "control", tests, .timeout = 120 },
	};

	return mock_run_suite(check_suite("flmock control", cases, sizeof cases / sizeof cases[0]));
}

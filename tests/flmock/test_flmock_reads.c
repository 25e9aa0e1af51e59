/*
 * test_flmock_reads.c — flmock's read side against its own world: envelopes, auth,
 * paging, list shapes, filters, and each endpoint's time window checked
 * record by record against /_mock/dump (a record is in [from, to) iff its
 * time is), including windows whose edges fall on shared timestamps; the
 * order of Search for Projects (descending by its sort field unless
 * reverse_sort), and the user_details projection (result.users by id).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check_main.h"
#include "mockutil.h"

static struct mock m;
static long long self_id;

static void start(void)
{
	const char *args[] = { "--seed", "42", NULL };

	mock_must_start(&m, args);
	self_id = mock_self(&m);
}

static void stop(void)
{
	mock_stop(&m);
}

/* GET and parse; the caller frees. */
static yajl_val get_json(const char *path, long want_status)
{
	struct resp r;
	yajl_val v;

	mock_get(&m, path, &r);
	ck_assert_msg(r.rc == CURLE_OK, "%s: curl %d", path, r.rc);
	ck_assert_msg(r.status == want_status, "%s: HTTP %ld, want %ld: %.300s", path, r.status, want_status, r.body);
	v = resp_json(&r);
	ck_assert_msg(v != NULL, "%s: not JSON", path);
	resp_free(&r);
	return v;
}

static const char *error_code(yajl_val v)
{
	const char *c = jstr(v, "error_code");

	return c ? c : "(none)";
}

START_TEST(envelope_and_date)
{
	struct resp r;
	yajl_val v;
	const char *rid;
	size_t i;

	mock_get(&m, "/api/projects/0.1/projects/?limit=1", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.date, "Thu, 01 Jan 2026 00:00:00 GMT");
	ck_assert_msg(strstr(r.ctype, "application/json") != NULL, "content type %s", r.ctype);
	v = resp_json(&r);
	ck_assert_str_eq(jstr(v, "status"), "success");
	rid = jstr(v, "request_id");
	ck_assert_ptr_nonnull(rid);
	ck_assert_uint_eq(strlen(rid), 32);
	for (i = 0; i < 32; i++)
		ck_assert_msg(strchr("0123456789abcdef", rid[i]) != NULL, "request_id %s", rid);
	ck_assert_msg(YAJL_IS_OBJECT(jget(v, "result", NULL)), "result is an object");
	yajl_tree_free(v);
	resp_free(&r);

	v = get_json("/api/projects/0.1/projects/1/", 404);
	ck_assert_str_eq(jstr(v, "status"), "error");
	ck_assert_str_eq(error_code(v), "RestExceptionCodes.NOT_FOUND");
	ck_assert_ptr_nonnull(jstr(v, "message"));
	ck_assert_uint_eq(strlen(jstr(v, "request_id")), 32);
	yajl_tree_free(v);
}
END_TEST

/* Which credentials each kind of request takes. */
static const struct {
	const char *path, *header;
	long status;
} auth_cases[] = {
	{ "/api/projects/0.1/projects/?limit=1", "Freelancer-OAuth-V1: wrong", 401 },
	{ "/api/projects/0.1/projects/?limit=1", "Freelancer-Developer-Auth-V1: demo", 200 },
	{ "/api/projects/0.1/projects/?limit=1", "Freelancer-Developer-Auth-V1: 1234;demo", 200 },
	{ "/api/projects/0.1/projects/?limit=1", "Freelancer-Developer-Auth-V1: 1234;nope", 401 },
	/* Search for Projects needs no authentication; a wrong token still fails. */
	{ "/api/projects/0.1/projects/active/?limit=1", "", 200 },
	{ "/api/projects/0.1/projects/active/?limit=1", "Freelancer-OAuth-V1: x", 401 },
	/* /_mock/ needs none */
	{ "/_mock/clock", "", 200 },
};

START_TEST(auth)
{
	struct resp r;
	yajl_val v;

	mock_call(&m, "GET", "/api/projects/0.1/projects/?limit=1", NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 401);
	ck_assert_msg(r.rl_limit[0] && r.rl_remaining >= 0, "401 without RateLimit headers");
	v = resp_json(&r);
	ck_assert_str_eq(error_code(v), "RestExceptionCodes.NOT_AUTHENTICATED");
	yajl_tree_free(v);
	resp_free(&r);

	for (size_t i = 0; i < sizeof auth_cases / sizeof auth_cases[0]; i++) {
		mock_call(&m, "GET", auth_cases[i].path, NULL, NULL, auth_cases[i].header, &r);
		ck_assert_msg(r.status == auth_cases[i].status, "%s with \"%s\": HTTP %ld, want %ld", auth_cases[i].path,
			      auth_cases[i].header, r.status, auth_cases[i].status);
		resp_free(&r);
	}
}
END_TEST

START_TEST(paging)
{
	yajl_val v;
	struct dump d;

	v = get_json("/api/projects/0.1/projects/", 200);
	ck_assert_uint_eq(jget(v, "result", "projects")->u.array.len, 50);
	ck_assert(mock_dump(&m, "projects", &d));
	ck_assert_int_eq(jint(jget(v, "result", NULL), "total_count"), (long long)d.n);
	yajl_tree_free(v);
	v = get_json("/api/projects/0.1/projects/?limit=500", 200);
	ck_assert_uint_eq(jget(v, "result", "projects")->u.array.len, 100);
	yajl_tree_free(v);
	v = get_json("/api/projects/0.1/projects/?limit=7&offset=3", 200);
	ck_assert_uint_eq(jget(v, "result", "projects")->u.array.len, 7);
	ck_assert_int_eq(jint(jget(v, "result", "projects")->u.array.values[0], "id"), jint(d.rows[3], "id"));
	yajl_tree_free(v);
	v = get_json("/api/projects/0.1/projects/?offset=1000000", 200);
	ck_assert_uint_eq(jget(v, "result", "projects")->u.array.len, 0);
	yajl_tree_free(v);
	v = get_json("/api/projects/0.1/projects/?limit=abc", 400);
	ck_assert_str_eq(error_code(v), "RestExceptionCodes.INVALID_REQUEST");
	yajl_tree_free(v);
	v = get_json("/api/projects/0.1/bids/?offset=-1", 400);
	yajl_tree_free(v);
	dump_free(&d);
}
END_TEST

START_TEST(shapes)
{
	yajl_val v, x, first;
	char key[32], path[128];

	v = get_json("/api/users/0.1/users/?limit=3", 200);
	x = jget(v, "result", "users");
	ck_assert(YAJL_IS_OBJECT(x));
	ck_assert_uint_eq(x->u.object.len, 3);
	snprintf(key, sizeof key, "%lld", jint(x->u.object.values[0], "id"));
	ck_assert_str_eq(x->u.object.keys[0], key);
	ck_assert(jint(jget(v, "result", NULL), "total_count") >= 3);
	yajl_tree_free(v);

	v = get_json("/api/projects/0.1/milestones/?limit=3", 200);
	x = jget(v, "result", "milestones");
	ck_assert(YAJL_IS_OBJECT(x) && x->u.object.len == 3);
	snprintf(key, sizeof key, "%lld", jint(x->u.object.values[1], "transaction_id"));
	ck_assert_str_eq(x->u.object.keys[1], key);
	ck_assert(YAJL_IS_OBJECT(jget(x->u.object.values[1], "currency", NULL)));
	yajl_tree_free(v);

	v = get_json("/api/projects/0.1/milestone_requests/?limit=2", 200);
	ck_assert(YAJL_IS_OBJECT(jget(v, "result", "milestone_requests")));
	yajl_tree_free(v);

	v = get_json("/api/messages/0.1/threads/?limit=2", 200);
	x = jget(v, "result", "threads");
	ck_assert(YAJL_IS_ARRAY(x) && x->u.array.len == 2);
	first = x->u.array.values[0];
	ck_assert_int_eq(jint(first, "id"), jint(jget(first, "thread", NULL), "id"));
	ck_assert(YAJL_IS_ARRAY(jget(first, "thread", "members")));
	ck_assert_ptr_nonnull(jstr(jget(jget(first, "thread", NULL), "context", NULL), "type"));
	ck_assert_ptr_nonnull(jstr(first, "folder"));
	ck_assert(YAJL_IS_TRUE(jget(first, "is_read", NULL)) || YAJL_IS_FALSE(jget(first, "is_read", NULL)));
	yajl_tree_free(v);

	v = get_json("/api/messages/0.1/messages/?limit=2", 200);
	ck_assert(YAJL_IS_ARRAY(jget(v, "result", "messages")));
	ck_assert(jint(jget(v, "result", NULL), "unfiltered_count") >= 2);
	snprintf(path, sizeof path, "/api/messages/0.1/messages/%lld/",
		 jint(jget(v, "result", "messages")->u.array.values[1], "id"));
	yajl_tree_free(v);
	v = get_json(path, 200);
	ck_assert_uint_eq(jget(v, "result", "messages")->u.array.len, 1);
	yajl_tree_free(v);

	v = get_json("/api/projects/0.1/projects/?limit=1&job_details&full_description", 200);
	first = jget(v, "result", "projects")->u.array.values[0];
	ck_assert(YAJL_IS_OBJECT(jget(first, "currency", NULL)));
	ck_assert(YAJL_IS_OBJECT(jget(first, "budget", NULL)));
	ck_assert(YAJL_IS_OBJECT(jget(first, "upgrades", NULL)));
	ck_assert(YAJL_IS_OBJECT(jget(first, "bid_stats", NULL)));
	ck_assert(YAJL_IS_OBJECT(jget(first, "location", NULL)));
	ck_assert(YAJL_IS_ARRAY(jget(first, "jobs", NULL)));
	ck_assert(YAJL_IS_OBJECT(jget(jget(first, "jobs", NULL)->u.array.values[0], "category", NULL)));
	ck_assert(YAJL_IS_STRING(jget(first, "description", NULL)));
	ck_assert(jint(first, "id") > 2147483647LL);
	yajl_tree_free(v);

	/* Unprojected fields are null, and ?compact leaves them out. */
	v = get_json("/api/projects/0.1/projects/?limit=1", 200);
	first = jget(v, "result", "projects")->u.array.values[0];
	ck_assert(YAJL_IS_NULL(jget(first, "jobs", NULL)));
	ck_assert(YAJL_IS_NULL(jget(first, "description", NULL)));
	yajl_tree_free(v);
	v = get_json("/api/projects/0.1/projects/?limit=1&compact", 200);
	first = jget(v, "result", "projects")->u.array.values[0];
	ck_assert_ptr_null(jget(first, "jobs", NULL));
	ck_assert_ptr_null(jget(first, "sub_status", NULL));
	ck_assert_ptr_nonnull(jget(first, "title", NULL));
	yajl_tree_free(v);

	v = get_json("/api/projects/0.1/currencies/", 200);
	ck_assert(YAJL_IS_ARRAY(jget(v, "result", "currencies")));
	yajl_tree_free(v);
	v = get_json("/api/projects/0.1/jobs/?jobs[]=3&jobs[]=7", 200);
	ck_assert(YAJL_IS_ARRAY(jget(v, "result", NULL)) && jget(v, "result", NULL)->u.array.len == 2);
	yajl_tree_free(v);
	v = get_json("/api/projects/0.1/categories/", 200);
	ck_assert(YAJL_IS_ARRAY(jget(v, "result", "categories")));
	yajl_tree_free(v);
}
END_TEST

START_TEST(by_id_and_self)
{
	struct dump d;
	yajl_val v;
	char path[128];

	ck_assert(mock_dump(&m, "projects", &d));
	snprintf(path, sizeof path, "/api/projects/0.1/projects/%lld/?full_description&job_details", jint(d.rows[5], "id"));
	v = get_json(path, 200);
	ck_assert_str_eq(jstr(jget(v, "result", NULL), "title"), jstr(d.rows[5], "title"));
	ck_assert_str_eq(jstr(jget(v, "result", NULL), "description"), jstr(d.rows[5], "description"));
	ck_assert_int_eq(jint(jget(v, "result", NULL), "time_submitted"), jint(d.rows[5], "time_submitted"));
	yajl_tree_free(v);
	dump_free(&d);

	v = get_json("/api/users/0.1/self/", 200);
	ck_assert_int_eq(jint(jget(v, "result", NULL), "id"), self_id);
	yajl_tree_free(v);
	v = get_json("/api/users/0.1/users/self/", 200);
	ck_assert_int_eq(jint(jget(v, "result", NULL), "id"), self_id);
	yajl_tree_free(v);
	snprintf(path, sizeof path, "/api/users/0.1/users/%lld/", self_id);
	v = get_json(path, 200);
	ck_assert_ptr_nonnull(jstr(jget(v, "result", NULL), "username"));
	yajl_tree_free(v);
	v = get_json("/api/users/0.1/users/12/", 404);
	yajl_tree_free(v);
	v = get_json("/api/projects/0.1/bids/99/", 404);
	yajl_tree_free(v);
	v = get_json("/api/messages/0.1/threads/99/", 404);
	yajl_tree_free(v);
	v = get_json("/api/nothing/here/", 404);
	yajl_tree_free(v);
	v = get_json("/api/projects/0.1/currencies/?x", 200);
	yajl_tree_free(v);
	{
		struct resp r;

		mock_call(&m, "DELETE", "/api/projects/0.1/currencies/", NULL, NULL, NULL, &r);
		ck_assert_int_eq(r.status, 405);
		resp_free(&r);
	}
}
END_TEST

/* ---- filters ------------------------------------------------------------------ */

static long count_dump(const struct dump *d, const char *field, long long value)
{
	size_t i;
	long n = 0;

	for (i = 0; i < d->n; i++)
		n += jint(d->rows[i], field) == value;
	return n;
}

START_TEST(filters)
{
	struct dump projects, bids, ms;
	long long ids[20000];
	char path[256];
	long n;
	long long pid;
	size_t i;

	ck_assert(mock_dump(&m, "projects", &projects));
	ck_assert(mock_dump(&m, "bids", &bids));
	ck_assert(mock_dump(&m, "milestones", &ms));

	snprintf(path, sizeof path, "/api/projects/0.1/projects/?owners[]=%lld", self_id);
	n = mock_collect_ids(&m, path, "projects", ids, 20000);
	ck_assert_int_eq(n, count_dump(&projects, "owner_id", self_id));
	ck_assert_int_gt(n, 2);

	snprintf(path, sizeof path, "/api/projects/0.1/bids/?bidders[]=%lld", self_id);
	n = mock_collect_ids(&m, path, "bids", ids, 20000);
	ck_assert_int_eq(n, count_dump(&bids, "bidder_id", self_id));
	ck_assert_int_gt(n, 2);

	pid = jint(bids.rows[bids.n / 2], "project_id");
	snprintf(path, sizeof path, "/api/projects/0.1/bids/?projects[]=%lld", pid);
	n = mock_collect_ids(&m, path, "bids", ids, 20000);
	ck_assert_int_eq(n, count_dump(&bids, "project_id", pid));
	snprintf(path, sizeof path, "/api/projects/0.1/projects/%lld/bids/", pid);
	ck_assert_int_eq(mock_collect_ids(&m, path, "bids", ids, 20000), count_dump(&bids, "project_id", pid));

	snprintf(path, sizeof path, "/api/projects/0.1/bids/?bids[]=%lld&bids[]=%lld", jint(bids.rows[0], "id"),
		 jint(bids.rows[9], "id"));
	ck_assert_int_eq(mock_collect_ids(&m, path, "bids", ids, 20000), 2);
	ck_assert_int_eq(ids[0], jint(bids.rows[0], "id"));

	snprintf(path, sizeof path, "/api/projects/0.1/projects/?projects[]=%lld&projects[]=%lld&projects[]=1",
		 jint(projects.rows[7], "id"), jint(projects.rows[3], "id"));
	ck_assert_int_eq(mock_collect_ids(&m, path, "projects", ids, 20000), 2);
	ck_assert_int_eq(ids[0], jint(projects.rows[3], "id")); /* created-time order */

	{
		yajl_val v;
		long long mpid = 0, hidden = 0;

		/* Only milestones self is a party to are visible (UNAUTHORIZED_MILESTONE_VIEW). */
		for (i = 0; i < ms.n; i++) {
			bool mine = jint(ms.rows[i], "project_owner_id") == self_id || jint(ms.rows[i], "bidder_id") == self_id;

			if (mine && !mpid)
				mpid = jint(ms.rows[i], "project_id");
			if (!mine && !hidden)
				hidden = jint(ms.rows[i], "project_id");
		}
		ck_assert(mpid && hidden);
		snprintf(path, sizeof path, "/api/projects/0.1/milestones/?projects[]=%lld", hidden);
		v = get_json(path, 200);
		ck_assert_uint_eq(jget(v, "result", "milestones")->u.object.len, 0);
		yajl_tree_free(v);

		snprintf(path, sizeof path, "/api/projects/0.1/milestones/?projects[]=%lld&limit=100", mpid);
		v = get_json(path, 200);
		ck_assert_int_eq((long)jget(v, "result", "milestones")->u.object.len, count_dump(&ms, "project_id", mpid));
		yajl_tree_free(v);
		snprintf(path, sizeof path, "/api/projects/0.1/projects/%lld/milestones/", mpid);
		v = get_json(path, 200);
		ck_assert_int_eq((long)jget(v, "result", "milestones")->u.object.len, count_dump(&ms, "project_id", mpid));
		yajl_tree_free(v);
		v = get_json("/api/projects/0.1/milestones/?statuses[]=cleared&limit=100", 200);
		ck_assert_str_eq(jstr(jget(v, "result", "milestones")->u.object.values[0], "status"), "cleared");
		yajl_tree_free(v);
		v = get_json("/api/projects/0.1/milestones/?statuses[]=bogus", 400);
		ck_assert_str_eq(error_code(v), "RestExceptionCodes.BAD_ENUM");
		yajl_tree_free(v);
	}
	dump_free(&projects);
	dump_free(&bids);
	dump_free(&ms);
}
END_TEST

/* ---- time windows ------------------------------------------------------------------ */

struct window_case {
	const char *entity;        /* /_mock/dump entity */
	const char *path;          /* list endpoint */
	const char *from_key, *to_key;
	const char *time_field;    /* in the dump rows */
	const char *list_key;
	bool active_only;          /* /projects/active/: active, undeleted */
};

struct rec {
	long long t, id;
};

static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static bool wanted(const struct window_case *c, yajl_val row)
{
	yajl_val del = jget(row, "deleted", NULL);

	return !c->active_only || (strcmp(jstr(row, "status"), "active") == 0 && YAJL_IS_FALSE(del));
}

/* The API's window [from, to) equals the dump's records with from <= t < to, in (t, id) order. */
static void check_window(const struct window_case *c, const struct rec *all, size_t n, long long from, long long to)
{
	static long long got[200000];
	char path[512];
	long k = 0, i;
	size_t j;

	snprintf(path, sizeof path, "%s%c%s=%lld&%s=%lld", c->path, strchr(c->path, '?') ? '&' : '?', c->from_key,
		 from, c->to_key, to);
	i = mock_collect_ids(&m, path, c->list_key, got, 200000);
	ck_assert_msg(i >= 0, "%s failed", path);
	for (j = 0; j < n; j++) {
		if (all[j].t < from || all[j].t >= to)
			continue;
		ck_assert_msg(k < i, "%s: missing id %lld (t %lld)", path, all[j].id, all[j].t);
		ck_assert_msg(got[k] == all[j].id, "%s: item %ld is %lld, want %lld", path, k, got[k], all[j].id);
		k++;
	}
	ck_assert_msg(k == i, "%s: %ld extra items", path, i - k);
}

static void run_windows(const struct window_case *c)
{
	struct dump d;
	struct rec *all;
	size_t n = 0, i, dup = 0;
	long long hour = 0;

	ck_assert(mock_dump(&m, c->entity, &d));
	all = calloc(d.n + 1, sizeof *all);
	for (i = 0; i < d.n; i++)
		if (wanted(c, d.rows[i])) {
			all[n].t = jint(d.rows[i], c->time_field);
			all[n].id = jint(d.rows[i], "id");
			n++;
		}
	qsort(all, n, sizeof *all, cmp_rec);
	ck_assert_msg(n > 20, "%s: too few records (%zu)", c->entity, n);
	/* Edges on records' own times, and on a shared timestamp. */
	check_window(c, all, n, all[n / 3].t, all[2 * n / 3].t);
	check_window(c, all, n, all[0].t, all[n - 1].t + 1);
	for (i = 1; i < n && !dup; i++)
		if (all[i].t == all[i - 1].t)
			dup = i;
	if (dup) {
		check_window(c, all, n, all[dup].t, all[dup].t + 1);
		check_window(c, all, n, all[dup].t - 100, all[dup].t);
	}
	for (i = 0; i < n && !hour; i++)
		if (all[i].t % 3600 == 0)
			hour = all[i].t;
	if (hour) {
		check_window(c, all, n, hour - 86400, hour);
		check_window(c, all, n, hour, hour + 86400);
	}
	check_window(c, all, n, 5, 6); /* empty */
	free(all);
	dump_free(&d);
}

START_TEST(window_projects)
{
	static const struct window_case c = { "projects", "/api/projects/0.1/projects/", "from_time", "to_time",
					      "time_submitted", "projects", false };

	run_windows(&c);
}
END_TEST

/* Ascending by last-updated time takes sort_field=time_updated and reverse_sort (Search for Projects). */
START_TEST(window_active)
{
	static const struct window_case c = { "projects",
					      "/api/projects/0.1/projects/active/?sort_field=time_updated&reverse_sort=true",
					      "from_time", "to_time", "time_updated", "projects", true };

	run_windows(&c);
}
END_TEST

START_TEST(window_bids)
{
	static const struct window_case c = { "bids", "/api/projects/0.1/bids/", "from_time", "to_time",
					      "time_submitted", "bids", false };

	run_windows(&c);
}
END_TEST

START_TEST(window_reviews)
{
	static const struct window_case c = { "reviews", "/api/projects/0.1/reviews/", "from_time", "to_time",
					      "time_submitted", "reviews", false };

	run_windows(&c);
}
END_TEST

START_TEST(window_threads)
{
	static const struct window_case c = { "threads", "/api/messages/0.1/threads/", "from_updated_time",
					      "to_updated_time", "time_updated", "threads", false };

	run_windows(&c);
}
END_TEST

START_TEST(window_messages)
{
	static const struct window_case c = { "messages", "/api/messages/0.1/messages/", "from_updated_time",
					      "to_updated_time", "time_updated", "messages", false };

	run_windows(&c);
}
END_TEST

/* Milestones have no time filter (Get Milestones): from_time is ignored. */
START_TEST(no_window_on_milestones)
{
	yajl_val a = get_json("/api/projects/0.1/milestones/?limit=100", 200);
	yajl_val b = get_json("/api/projects/0.1/milestones/?limit=100&from_time=5&to_time=6", 200);

	ck_assert_uint_eq(jget(a, "result", "milestones")->u.object.len, jget(b, "result", "milestones")->u.object.len);
	yajl_tree_free(a);
	yajl_tree_free(b);
}
END_TEST

static long dump_count_if(const struct dump *d, bool (*pred)(yajl_val row, long long arg), long long arg)
{
	size_t i;
	long n = 0;

	for (i = 0; i < d->n; i++)
		n += pred(d->rows[i], arg);
	return n;
}

static bool thread_has_member(yajl_val row, long long user)
{
	yajl_val mem = jget(jget(row, "thread", NULL), "members", NULL);
	size_t i;

	for (i = 0; mem && i < mem->u.array.len; i++)
		if (YAJL_GET_INTEGER(mem->u.array.values[i]) == user)
			return true;
	return false;
}

static bool thread_unread(yajl_val row, long long unused)
{
	(void)unused;
	return YAJL_IS_FALSE(jget(row, "is_read", NULL));
}

static bool message_in(yajl_val row, long long thread)
{
	return jint(row, "thread_id") == thread;
}

START_TEST(messaging_and_user_filters)
{
	struct dump threads, messages, users;
	long long ids[20000], other;
	char path[256];
	yajl_val v, row;

	ck_assert(mock_dump(&m, "threads", &threads));
	ck_assert(mock_dump(&m, "messages", &messages));
	ck_assert(mock_dump(&m, "users", &users));
	other = YAJL_GET_INTEGER(jget(jget(threads.rows[0], "thread", NULL), "members", NULL)->u.array.values[1]);
	snprintf(path, sizeof path, "/api/messages/0.1/threads/?members[]=%lld", other);
	ck_assert_int_eq(mock_collect_ids(&m, path, "threads", ids, 20000), dump_count_if(&threads, thread_has_member, other));
	ck_assert_int_eq(mock_collect_ids(&m, "/api/messages/0.1/threads/?is_read=false", "threads", ids, 20000),
			 dump_count_if(&threads, thread_unread, 0));
	snprintf(path, sizeof path, "/api/messages/0.1/messages/?threads[]=%lld", jint(messages.rows[0], "thread_id"));
	ck_assert_int_eq(mock_collect_ids(&m, path, "messages", ids, 20000),
			 dump_count_if(&messages, message_in, jint(messages.rows[0], "thread_id")));

	row = users.rows[users.n / 2];
	snprintf(path, sizeof path, "/api/users/0.1/users/?usernames[]=%s&users[]=%lld", jstr(row, "username"),
		 jint(users.rows[0], "id"));
	v = get_json(path, 200);
	ck_assert_uint_eq(jget(v, "result", "users")->u.object.len, 2);
	ck_assert_int_eq(jint(jget(v, "result", NULL), "total_count"), 2);
	yajl_tree_free(v);
	dump_free(&threads);
	dump_free(&messages);
	dump_free(&users);
}
END_TEST

START_TEST(query_search)
{
	long long ids[20000];
	long all = mock_collect_ids(&m, "/api/projects/0.1/projects/active/", "projects", ids, 20000);
	long some = mock_collect_ids(&m, "/api/projects/0.1/projects/active/?query=website", "projects", ids, 20000);
	long none = mock_collect_ids(&m, "/api/projects/0.1/projects/active/?query=zzzqqq", "projects", ids, 20000);
	long jobs = mock_collect_ids(&m, "/api/projects/0.1/projects/active/?jobs[]=3", "projects", ids, 20000);

	ck_assert_int_gt(all, 0);
	ck_assert_int_gt(some, 0);
	ck_assert_int_lt(some, all);
	ck_assert_int_eq(none, 0);
	ck_assert_int_gt(jobs, 0);
	ck_assert_int_lt(jobs, all);
}
END_TEST

/* ---- Search for Projects' order ------------------------------------------------------------- */

struct ranked_row {
	long long id, submitted, updated, bid_count;
};

/* Every project of /projects/active/ with this query, in the order served. */
static size_t active_rows(const char *query, struct ranked_row *out, size_t max)
{
	size_t n = 0;

	for (long offset = 0;; offset += 100) {
		char path[512];
		yajl_val v, list;
		size_t i;

		snprintf(path, sizeof path, "/api/projects/0.1/projects/active/?%s%slimit=100&offset=%ld", query,
			 *query ? "&" : "", offset);
		v = get_json(path, 200);
		list = jget(v, "result", "projects");
		for (i = 0; i < list->u.array.len && n < max; i++) {
			yajl_val p = list->u.array.values[i];

			out[n].id = jint(p, "id");
			out[n].submitted = jint(p, "time_submitted");
			out[n].updated = jint(p, "time_updated");
			out[n].bid_count = jint(jget(p, "bid_stats", NULL), "bid_count");
			n++;
		}
		i = list->u.array.len;
		yajl_tree_free(v);
		if (i < 100)
			break;
	}
	return n;
}

/* "The sorting field. By default ... by most recently posted"; "reverse_sort: ascending instead of descending". */
START_TEST(active_order)
{
	static struct ranked_row def[20000], rev[20000], upd[20000], bids[20000];
	size_t n = active_rows("", def, 20000), i;
	yajl_val v;

	ck_assert_uint_gt(n, 100);
	for (i = 1; i < n; i++)
		ck_assert_msg(def[i - 1].submitted > def[i].submitted ||
			      (def[i - 1].submitted == def[i].submitted && def[i - 1].id > def[i].id),
			      "default order: item %zu (%lld, t %lld) after (%lld, t %lld)", i, def[i].id, def[i].submitted,
			      def[i - 1].id, def[i - 1].submitted);
	ck_assert_uint_eq(active_rows("reverse_sort=true", rev, 20000), n);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(rev[i].id, def[n - 1 - i].id);
	ck_assert_uint_eq(active_rows("sort_field=time_updated", upd, 20000), n);
	for (i = 1; i < n; i++)
		ck_assert(upd[i - 1].updated > upd[i].updated ||
			  (upd[i - 1].updated == upd[i].updated && upd[i - 1].id > upd[i].id));
	ck_assert_uint_eq(active_rows("sort_field=BID_COUNT", bids, 20000), n);
	for (i = 1; i < n; i++)
		ck_assert(bids[i - 1].bid_count >= bids[i].bid_count);
	v = get_json("/api/projects/0.1/projects/active/?sort_field=colour", 400);
	ck_assert_str_eq(error_code(v), "RestExceptionCodes.BAD_ENUM");
	yajl_tree_free(v);
}
END_TEST

/* ---- user_details ----------------------------------------------------------------------------- */

/* result.users holds every id the list names under `field` (and `field2`), keyed by id, each a user. */
static void check_users(const char *path, const char *list_key, const char *field, const char *field2)
{
	char full[512];
	yajl_val v, users, list;
	size_t i, named = 0;

	snprintf(full, sizeof full, "%s%cuser_details=true", path, strchr(path, '?') ? '&' : '?');
	v = get_json(full, 200);
	users = jget(v, "result", "users");
	list = jget(v, "result", list_key);
	ck_assert_msg(YAJL_IS_OBJECT(users), "%s: result.users is not an object", full);
	ck_assert_msg(list && (YAJL_IS_ARRAY(list) || YAJL_IS_OBJECT(list)), "%s: no %s", full, list_key);
	for (i = 0; i < (YAJL_IS_ARRAY(list) ? list->u.array.len : list->u.object.len); i++) {
		yajl_val row = YAJL_IS_ARRAY(list) ? list->u.array.values[i] : list->u.object.values[i];
		const char *fields[2] = { field, field2 };

		for (int f = 0; f < 2 && fields[f]; f++) {
			char key[32];
			yajl_val u;

			snprintf(key, sizeof key, "%lld", jint(row, fields[f]));
			u = jget(users, key, NULL);
			ck_assert_msg(u && jint(u, "id") == jint(row, fields[f]), "%s: user %s of %s not in result.users",
				      full, key, fields[f]);
			named++;
		}
	}
	ck_assert_msg(named > 0, "%s: the list was empty", full);
	for (i = 0; i < users->u.object.len; i++)
		ck_assert_int_eq(atoll(users->u.object.keys[i]), jint(users->u.object.values[i], "id"));
	yajl_tree_free(v);
	/* without the projection: null */
	v = get_json(path, 200);
	users = jget(v, "result", "users");
	ck_assert_msg(!users || YAJL_IS_NULL(users), "%s: users without user_details", path);
	yajl_tree_free(v);
}

START_TEST(user_details_projection)
{
	char path[256];
	struct dump projects;
	long long pid = 0;
	size_t i;
	yajl_val v, threads;

	check_users("/api/projects/0.1/projects/active/?limit=30", "projects", "owner_id", NULL);
	check_users("/api/projects/0.1/projects/?limit=30", "projects", "owner_id", NULL);
	snprintf(path, sizeof path, "/api/projects/0.1/bids/?bidders[]=%lld&limit=30", self_id);
	check_users(path, "bids", "bidder_id", "project_owner_id");
	ck_assert(mock_dump(&m, "projects", &projects));
	for (i = 0; i < projects.n && !pid; i++)
		if (jint(projects.rows[i], "owner_id") == self_id &&
		    jint(jget(projects.rows[i], "bid_stats", NULL), "bid_count") > 1)
			pid = jint(projects.rows[i], "id");
	dump_free(&projects);
	ck_assert_int_gt(pid, 0);
	snprintf(path, sizeof path, "/api/projects/0.1/projects/%lld/bids/", pid);
	check_users(path, "bids", "bidder_id", NULL);
	check_users("/api/projects/0.1/milestones/?limit=30", "milestones", "bidder_id", "project_owner_id");
	check_users("/api/projects/0.1/milestone_requests/?limit=30", "milestone_requests", "bidder_id",
		    "project_owner_id");
	snprintf(path, sizeof path, "/api/projects/0.1/reviews/?to_users[]=%lld&limit=30", self_id);
	check_users(path, "reviews", "from_user_id", "to_user_id");
	check_users("/api/messages/0.1/messages/?limit=30", "messages", "from_user", NULL);
	/* threads: each member */
	v = get_json("/api/messages/0.1/threads/?limit=20&user_details=true", 200);
	threads = jget(v, "result", "threads");
	ck_assert_uint_gt(threads->u.array.len, 0);
	for (i = 0; i < threads->u.array.len; i++) {
		yajl_val members = jget(jget(threads->u.array.values[i], "thread", NULL), "members", NULL);

		for (size_t k = 0; k < members->u.array.len; k++) {
			char key[32];

			snprintf(key, sizeof key, "%lld", YAJL_GET_INTEGER(members->u.array.values[k]));
			ck_assert_msg(jget(jget(v, "result", "users"), key, NULL), "thread member %s not in users", key);
		}
	}
	yajl_tree_free(v);
}
END_TEST

int main(void)
{
	const TTest *tests[] = {
		envelope_and_date,
		auth,
		paging,
		shapes,
		by_id_and_self,
		filters,
		window_projects,
		window_active,
		window_bids,
		window_reviews,
		window_threads,
		window_messages,
		no_window_on_milestones,
		query_search,
		messaging_and_user_filters,
		active_order,
		user_details_projection,
		NULL,
	};
	const struct check_case cases[] = {
		{ "reads", tests, .start = start, .stop = stop, .timeout = 120 },
	};

	return mock_run_suite(check_suite("flmock reads", cases, sizeof cases / sizeof cases[0]));
}

/*
 * test_flmock_writes.c — flmock's write side: each write succeeds and a later GET
 * sees it, and each documented error comes back with its HTTP status and
 * error_code: bids and their award life cycle, milestones, milestone
 * requests, reviews, threads and messages (client_message_id resends),
 * projects and invitations; and /_mock/log records what was applied.  Then
 * what running the official SDK against flmock showed: enums in any case,
 * hourly commitment hours, hire-me projects, attachments without a text.
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

/* One call, its status and (when want_code) its error_code checked; returns the JSON. */
static yajl_val call(const char *method, const char *path, const char *body, const char *ctype, long want_status,
		     const char *want_code)
{
	struct resp r;
	yajl_val v;

	if (body && !ctype)
		ctype = body[0] == '{' ? "application/json" : "application/x-www-form-urlencoded";
	mock_call(&m, method, path, body, ctype, NULL, &r);
	ck_assert_msg(r.rc == CURLE_OK, "%s %s: curl %d", method, path, r.rc);
	ck_assert_msg(r.status == want_status, "%s %s: HTTP %ld, want %ld: %.300s", method, path, r.status,
		      want_status, r.body);
	v = resp_json(&r);
	ck_assert_msg(v != NULL, "%s %s: not JSON", method, path);
	if (want_code) {
		const char *c = jstr(v, "error_code");

		ck_assert_msg(c && strcmp(c, want_code) == 0, "%s %s: error_code %s, want %s", method, path,
			      c ? c : "(none)", want_code);
	}
	resp_free(&r);
	return v;
}

static void expect(const char *method, const char *path, const char *body, long status, const char *code)
{
	yajl_val v = call(method, path, body, NULL, status, code);

	yajl_tree_free(v);
}

static yajl_val get_ok(const char *path)
{
	return call("GET", path, NULL, NULL, 200, NULL);
}

static const char *field_of(const char *path, const char *field, char *out, size_t n)
{
	yajl_val v = get_ok(path);
	const char *s = jstr(jget(v, "result", NULL), field);

	snprintf(out, n, "%s", s ? s : "(null)");
	yajl_tree_free(v);
	return out;
}

static bool is(yajl_val row, const char *field, const char *value)
{
	const char *s = jstr(row, field);

	return value ? s && strcmp(s, value) == 0 : YAJL_IS_NULL(jget(row, field, NULL));
}

static bool is_false(yajl_val row, const char *field)
{
	return YAJL_IS_FALSE(jget(row, field, NULL));
}

/* ---- bids ------------------------------------------------------------------------ */

static bool self_bid_on(const struct dump *bids, long long project)
{
	size_t i;

	for (i = 0; i < bids->n; i++)
		if (jint(bids->rows[i], "project_id") == project && jint(bids->rows[i], "bidder_id") == self_id)
			return true;
	return false;
}

START_TEST(bid_create_and_errors)
{
	struct dump projects, bids;
	long long market = 0, own = 0, closed = 0, bid_id;
	char body[512], path[128], buf[64];
	yajl_val v;
	size_t i;

	ck_assert(mock_dump(&m, "projects", &projects));
	ck_assert(mock_dump(&m, "bids", &bids));
	for (i = projects.n; i-- > 0;) {
		yajl_val p = projects.rows[i];
		bool active = is(p, "status", "active") && is_false(p, "deleted");

		if (active && jint(p, "owner_id") != self_id && !market && !self_bid_on(&bids, jint(p, "id")))
			market = jint(p, "id");
		if (active && jint(p, "owner_id") == self_id && !own)
			own = jint(p, "id");
		if (is(p, "status", "closed") && jint(p, "owner_id") != self_id && !closed)
			closed = jint(p, "id");
	}
	ck_assert(market && own && closed);

	snprintf(body, sizeof body, "{\"project_id\":%lld,\"bidder_id\":%lld,\"amount\":250.5,\"period\":3,"
		 "\"milestone_percentage\":100,\"description\":\"I can do this \\u2713 \xf0\x9f\x9a\x80\"}", market, self_id);
	v = call("POST", "/api/projects/0.1/bids/", body, NULL, 200, NULL);
	bid_id = jint(jget(v, "result", NULL), "id");
	ck_assert_int_gt(bid_id, 2147483647LL);
	yajl_tree_free(v);
	snprintf(path, sizeof path, "/api/projects/0.1/bids/%lld/", bid_id);
	ck_assert_str_eq(field_of(path, "description", buf, sizeof buf), "I can do this \xe2\x9c\x93 \xf0\x9f\x9a\x80");
	snprintf(path, sizeof path, "/api/projects/0.1/bids/?bidders[]=%lld&projects[]=%lld", self_id, market);
	v = get_ok(path);
	ck_assert_uint_eq(jget(v, "result", "bids")->u.array.len, 1);
	yajl_tree_free(v);

	expect("POST", "/api/projects/0.1/bids/", body, 409, "ProjectExceptionCodes.DUPLICATE_BID");
	snprintf(body, sizeof body, "{\"project_id\":%lld,\"bidder_id\":%lld,\"amount\":10,\"period\":3}", own, self_id);
	expect("POST", "/api/projects/0.1/bids/", body, 400, "ProjectExceptionCodes.BIDDER_OWNS_PROJECT");
	snprintf(body, sizeof body, "{\"project_id\":%lld,\"bidder_id\":%lld,\"amount\":10,\"period\":3}", closed, self_id);
	expect("POST", "/api/projects/0.1/bids/", body, 400, "ProjectExceptionCodes.PROJECT_NOT_ACTIVE");
	snprintf(body, sizeof body, "{\"project_id\":1,\"bidder_id\":%lld,\"amount\":10,\"period\":3}", self_id);
	expect("POST", "/api/projects/0.1/bids/", body, 400, "ProjectExceptionCodes.INVALID_PROJECT");
	snprintf(body, sizeof body, "{\"project_id\":%lld,\"bidder_id\":%lld}", market, self_id);
	expect("POST", "/api/projects/0.1/bids/", body, 400, "ProjectExceptionCodes.BID_FIELDS_MISSING");
	snprintf(body, sizeof body, "{\"project_id\":%lld,\"bidder_id\":%lld,\"amount\":0,\"period\":3}", market, self_id);
	expect("POST", "/api/projects/0.1/bids/", body, 400, "ProjectExceptionCodes.BID_AMOUNT_INVALID");
	expect("POST", "/api/projects/0.1/bids/", "{\"project_id\":", 400, "RestExceptionCodes.BAD_JSON");

	/* The bidder's own actions on the new bid. */
	snprintf(path, sizeof path, "/api/projects/0.1/bids/%lld/?action=highlight", bid_id);
	expect("PUT", path, NULL, 200, NULL);
	expect("PUT", path, NULL, 409, "ProjectExceptionCodes.BID_ALREADY_HIGHLIGHTED");
	snprintf(path, sizeof path, "/api/projects/0.1/bids/%lld/", bid_id);
	expect("PUT", path, "{\"action\":\"retract\"}", 200, NULL);
	expect("PUT", path, "{\"action\":\"retract\"}", 409, "ProjectExceptionCodes.BID_ALREADY_RETRACTED");
	v = get_ok(path);
	ck_assert(YAJL_IS_TRUE(jget(jget(v, "result", NULL), "retracted", NULL)));
	yajl_tree_free(v);
	expect("PUT", path, "action=award", 403, "AuthorisationExceptionCodes.PERMISSION_DENIED");
	expect("PUT", "/api/projects/0.1/bids/5/?action=retract", NULL, 404, "ProjectExceptionCodes.BID_DOESNT_EXIST");
	expect("PUT", path, "{\"action\":\"dance\"}", 400, "RestExceptionCodes.BAD_ENUM");
	dump_free(&projects);
	dump_free(&bids);
}
END_TEST

/* A bid on one of self's open projects, nobody awarded yet. */
static long long awardable_bid(void)
{
	struct dump projects, bids;
	long long found = 0;
	size_t i, j;

	ck_assert(mock_dump(&m, "projects", &projects));
	ck_assert(mock_dump(&m, "bids", &bids));
	for (i = 0; i < projects.n && !found; i++) {
		yajl_val p = projects.rows[i];
		long long pid = jint(p, "id"), cand = 0;
		bool taken = false;

		if (jint(p, "owner_id") != self_id || !is(p, "status", "active") || !is_false(p, "deleted"))
			continue;
		for (j = 0; j < bids.n; j++) {
			yajl_val b = bids.rows[j];

			if (jint(b, "project_id") != pid)
				continue;
			if (is(b, "award_status", "pending") || is(b, "award_status", "awarded"))
				taken = true;
			if (is(b, "award_status", NULL) && is_false(b, "retracted"))
				cand = jint(b, "id");
		}
		if (!taken)
			found = cand;
	}
	dump_free(&projects);
	dump_free(&bids);
	return found;
}

START_TEST(award_lifecycle)
{
	long long bid = awardable_bid();
	char path[128], buf[64];

	ck_assert_msg(bid, "no awardable bid in the world");
	snprintf(path, sizeof path, "/api/projects/0.1/bids/%lld/?action=award", bid);
	expect("PUT", path, NULL, 200, NULL);
	snprintf(path, sizeof path, "/api/projects/0.1/bids/%lld/", bid);
	ck_assert_str_eq(field_of(path, "award_status", buf, sizeof buf), "pending");
	expect("PUT", path, "action=award", 400, "ProjectExceptionCodes.FREELANCER_ALREADY_AWARDED");
	/* accepting is the freelancer's move, not the owner's */
	expect("PUT", path, "action=accept", 403, "AuthorisationExceptionCodes.PERMISSION_DENIED");
	expect("PUT", path, "action=shortlist", 200, NULL);
	expect("PUT", path, "action=revoke", 200, NULL);
	ck_assert_str_eq(field_of(path, "award_status", buf, sizeof buf), "revoked");
	expect("PUT", path, "action=revoke", 400, "ProjectExceptionCodes.PENDING_BID_REQUIRED");
}
END_TEST

START_TEST(accept_and_reject_awards)
{
	struct dump bids;
	long long ids[2] = { 0, 0 };
	char path[128], buf[64];
	size_t i, k = 0;

	ck_assert(mock_dump(&m, "bids", &bids));
	for (i = 0; i < bids.n && k < 2; i++)
		if (jint(bids.rows[i], "bidder_id") == self_id && is(bids.rows[i], "award_status", "pending"))
			ids[k++] = jint(bids.rows[i], "id");
	dump_free(&bids);
	ck_assert_msg(k == 2, "need two pending awards to self");
	snprintf(path, sizeof path, "/api/projects/0.1/bids/%lld/", ids[0]);
	expect("PUT", path, "action=retract", 400, "ProjectExceptionCodes.BID_AWARD_PENDING");
	expect("PUT", path, "action=accept", 200, NULL);
	ck_assert_str_eq(field_of(path, "award_status", buf, sizeof buf), "awarded");
	ck_assert_str_eq(field_of(path, "frontend_bid_status", buf, sizeof buf), "in_progress");
	expect("PUT", path, "action=accept", 400, "ProjectExceptionCodes.PENDING_BID_REQUIRED");
	snprintf(path, sizeof path, "/api/projects/0.1/bids/%lld/?action=reject", ids[1]);
	expect("PUT", path, NULL, 200, NULL);
	snprintf(path, sizeof path, "/api/projects/0.1/bids/%lld/", ids[1]);
	ck_assert_str_eq(field_of(path, "award_status", buf, sizeof buf), "rejected");
}
END_TEST

/* ---- milestones and requests ------------------------------------------------------- */

/* An accepted bid with self as owner (want_owner) or as freelancer. */
static yajl_val accepted_bid(struct dump *bids, bool want_owner)
{
	size_t i;

	ck_assert(mock_dump(&m, "bids", bids));
	for (i = 0; i < bids->n; i++) {
		yajl_val b = bids->rows[i];

		if (is(b, "award_status", "awarded") &&
		    jint(b, want_owner ? "project_owner_id" : "bidder_id") == self_id)
			return b;
	}
	ck_abort_msg("no accepted bid with self as %s", want_owner ? "owner" : "freelancer");
	return NULL;
}

START_TEST(milestones)
{
	struct dump bids;
	yajl_val b = accepted_bid(&bids, true), v;
	long long pid = jint(b, "project_id"), bidder = jint(b, "bidder_id"), mid;
	char body[512], path[256], buf[64];

	snprintf(body, sizeof body, "{\"bidder_id\":%lld,\"amount\":40,\"project_id\":%lld,\"currency_id\":1,"
		 "\"reason\":2,\"description\":\"Étape 1 — design\"}", bidder, pid);
	v = call("POST", "/api/projects/0.1/milestones/", body, NULL, 200, NULL);
	mid = jint(jget(v, "result", NULL), "transaction_id");
	ck_assert_str_eq(jstr(jget(v, "result", NULL), "status"), "frozen");
	ck_assert_str_eq(jstr(jget(v, "result", NULL), "reason"), "task_description");
	yajl_tree_free(v);
	snprintf(path, sizeof path, "/api/projects/0.1/milestones/?projects[]=%lld&limit=100", pid);
	v = get_ok(path);
	snprintf(buf, sizeof buf, "%lld", mid);
	ck_assert_ptr_nonnull(jget(v, "result", "milestones") ? jget(jget(v, "result", "milestones"), buf, NULL) : NULL);
	yajl_tree_free(v);

	snprintf(path, sizeof path, "/api/projects/0.1/milestones/%lld/", mid);
	expect("PUT", path, "{\"action\":\"release\",\"amount\":41}", 400,
	       "ProjectExceptionCodes.MILESTONE_AMOUNT_GREATER_THAN_ORIGINAL");
	expect("PUT", path, "{\"action\":\"request_release\"}", 401, "ProjectExceptionCodes.UNAUTHORIZED_MILESTONE");
	expect("PUT", path, "{\"action\":\"release\"}", 400, "RestExceptionCodes.BAD_REQUEST");
	snprintf(path, sizeof path, "/api/projects/0.1/milestones/%lld/?action=release&amount=40", mid);
	expect("PUT", path, NULL, 200, NULL);
	expect("PUT", path, NULL, 400, "ProjectExceptionCodes.INVALID_MILESTONE_REQUEST");
	expect("PUT", "/api/projects/0.1/milestones/12/?action=cancel", NULL, 404, "ProjectExceptionCodes.INVALID_MILESTONE");
	snprintf(path, sizeof path, "/api/projects/0.1/milestones/?projects[]=%lld&statuses[]=cleared&limit=100", pid);
	v = get_ok(path);
	ck_assert_ptr_nonnull(jget(jget(v, "result", "milestones"), buf, NULL));
	yajl_tree_free(v);

	snprintf(body, sizeof body, "{\"bidder_id\":%lld,\"amount\":5,\"project_id\":%lld,\"description\":\"x\"}",
		 self_id == bidder ? bidder + 1 : self_id, pid);
	expect("POST", "/api/projects/0.1/milestones/", body, 400, "ProjectExceptionCodes.PROJECT_NOT_AWARDED");
	snprintf(body, sizeof body, "{\"bidder_id\":%lld,\"amount\":-5,\"project_id\":%lld,\"description\":\"x\"}", bidder, pid);
	expect("POST", "/api/projects/0.1/milestones/", body, 400, "ProjectExceptionCodes.INVALID_MILESTONE_AMOUNT");
	dump_free(&bids);
}
END_TEST

START_TEST(milestone_requests)
{
	struct dump bids, reqs;
	yajl_val b = accepted_bid(&bids, false), v;
	long long pid = jint(b, "project_id"), bid = jint(b, "id"), rid, pending = 0;
	char body[512], path[256];
	size_t i;

	snprintf(body, sizeof body, "{\"project_id\":%lld,\"bid_id\":%lld,\"description\":\"Phase 2\",\"amount\":12.5}",
		 pid, bid);
	/* A request may already be pending on this bid in the generated world. */
	ck_assert(mock_dump(&m, "milestone_requests", &reqs));
	for (i = 0; i < reqs.n; i++)
		if (jint(reqs.rows[i], "bid_id") == bid && is(reqs.rows[i], "status", "pending")) {
			snprintf(path, sizeof path, "/api/projects/0.1/milestone_requests/%lld/?action=delete",
				 jint(reqs.rows[i], "id"));
			expect("PUT", path, NULL, 200, NULL);
		}
	v = call("POST", "/api/projects/0.1/milestone_requests/", body, NULL, 200, NULL);
	rid = jint(jget(v, "result", NULL), "id");
	ck_assert_str_eq(jstr(jget(v, "result", NULL), "status"), "pending");
	yajl_tree_free(v);
	expect("POST", "/api/projects/0.1/milestone_requests/", body, 409, "ProjectExceptionCodes.MILESTONE_REQUEST_PENDING");
	snprintf(body, sizeof body, "{\"project_id\":%lld,\"bid_id\":%lld,\"description\":\"\",\"amount\":1}", pid, bid);
	expect("POST", "/api/projects/0.1/milestone_requests/", body, 400,
	       "ProjectExceptionCodes.EMPTY_MILESTONE_REQUEST_DESCRIPTION");
	snprintf(body, sizeof body, "{\"project_id\":%lld,\"bid_id\":%lld,\"description\":\"d\",\"amount\":-1}", pid, bid);
	expect("POST", "/api/projects/0.1/milestone_requests/", body, 400,
	       "ProjectExceptionCodes.NEGATIVE_MILESTONE_REQUEST_AMOUNT");
	snprintf(path, sizeof path, "/api/projects/0.1/milestone_requests/%lld/", rid);
	expect("PUT", path, "{\"action\":\"accept\"}", 401, "ProjectExceptionCodes.UNAUTHORIZED_MILESTONE_REQUEST");
	expect("PUT", path, "{\"action\":\"delete\"}", 200, NULL);
	expect("PUT", path, "{\"action\":\"delete\"}", 400, "ProjectExceptionCodes.INVALID_MILESTONE_REQUEST");
	expect("PUT", "/api/projects/0.1/milestone_requests/3/?action=delete", NULL, 404,
	       "ProjectExceptionCodes.INVALID_MILESTONE_REQUEST");

	/* The owner's side: accept a pending request on one of self's projects. */
	for (i = 0; i < reqs.n && !pending; i++)
		if (jint(reqs.rows[i], "project_owner_id") == self_id && is(reqs.rows[i], "status", "pending"))
			pending = jint(reqs.rows[i], "id");
	ck_assert_msg(pending, "no pending request on self's projects");
	snprintf(path, sizeof path, "/api/projects/0.1/milestone_requests/%lld/", pending);
	expect("PUT", path, "{\"action\":\"reject\"}", 400, "ProjectExceptionCodes.INVALID_REJECT_PARAMETER");
	v = call("PUT", path, "{\"action\":\"accept\"}", NULL, 200, NULL);
	ck_assert_str_eq(jstr(jget(v, "result", NULL), "status"), "frozen");
	yajl_tree_free(v);
	snprintf(path, sizeof path, "/api/projects/0.1/milestone_requests/?statuses[]=created&limit=100&bids[]=%lld",
		 jint(reqs.rows[0], "bid_id"));
	yajl_tree_free(get_ok(path));
	dump_free(&reqs);
	dump_free(&bids);
}
END_TEST

/* ---- reviews ------------------------------------------------------------------------ */

START_TEST(review_post)
{
	struct dump bids, projects, reviews;
	long long pid = 0, to = 0, active = 0;
	const char *role = NULL;
	char body[768];
	size_t i, j;

	ck_assert(mock_dump(&m, "bids", &bids));
	ck_assert(mock_dump(&m, "projects", &projects));
	ck_assert(mock_dump(&m, "reviews", &reviews));
	for (i = 0; i < bids.n && !pid; i++) {
		yajl_val b = bids.rows[i];
		long long p = jint(b, "project_id");
		bool done = false;

		if (!is(b, "award_status", "awarded") || !is(b, "frontend_bid_status", "complete") ||
		    (jint(b, "bidder_id") != self_id && jint(b, "project_owner_id") != self_id))
			continue;
		for (j = 0; j < reviews.n; j++)
			done |= jint(reviews.rows[j], "project_id") == p && jint(reviews.rows[j], "from_user_id") == self_id;
		if (done)
			continue;
		pid = p;
		to = jint(b, "bidder_id") == self_id ? jint(b, "project_owner_id") : jint(b, "bidder_id");
		role = jint(b, "bidder_id") == self_id ? "employer" : "freelancer";
	}
	for (i = 0; i < projects.n && !active; i++)
		if (is(projects.rows[i], "status", "active") && jint(projects.rows[i], "owner_id") == self_id)
			active = jint(projects.rows[i], "id");
	ck_assert_msg(pid && active, "no reviewable project");

	snprintf(body, sizeof body, "{\"project_id\":%lld,\"from_user_id\":%lld,\"to_user_id\":%lld,\"role\":\"%s\","
		 "\"reputation_data\":{\"category_ratings\":{\"communication\":4,\"quality\":5}},\"comment\":\"Très bien 👍\"}",
		 pid, self_id, to, role);
	expect("POST", "/api/projects/0.1/reviews/", body, 200, NULL);
	expect("POST", "/api/projects/0.1/reviews/", body, 400, "ProjectExceptionCodes.REVIEW_ALREADY_RATED_USER");
	snprintf(body, sizeof body, "{\"project_id\":%lld,\"from_user_id\":%lld,\"to_user_id\":%lld,\"role\":\"%s\"}",
		 pid, self_id, self_id, role);
	expect("POST", "/api/projects/0.1/reviews/", body, 400, "ProjectExceptionCodes.REVIEW_TO_USER_ID_INVALID");
	snprintf(body, sizeof body, "{\"project_id\":%lld,\"from_user_id\":%lld,\"to_user_id\":%lld,\"role\":\"employer\"}",
		 active, self_id, to);
	expect("POST", "/api/projects/0.1/reviews/", body, 400, "ProjectExceptionCodes.REVIEW_PROJECT_UNPAID");
	snprintf(body, sizeof body, "{\"project_id\":1,\"from_user_id\":%lld,\"to_user_id\":%lld,\"role\":\"employer\"}",
		 self_id, to);
	expect("POST", "/api/projects/0.1/reviews/", body, 400, "ProjectExceptionCodes.REVIEW_PROJECT_ID_INVALID");
	{
		char path[256];
		yajl_val v;

		snprintf(path, sizeof path, "/api/projects/0.1/reviews/?projects[]=%lld&from_users[]=%lld", pid, self_id);
		v = get_ok(path);
		ck_assert_uint_eq(jget(v, "result", "reviews")->u.array.len, 1);
		yajl_tree_free(v);
	}
	dump_free(&bids);
	dump_free(&projects);
	dump_free(&reviews);
}
END_TEST

/* ---- messaging ------------------------------------------------------------------------- */

START_TEST(threads_and_messages)
{
	struct dump users;
	long long other = 0, tid, mid;
	char body[512], path[256];
	yajl_val v;
	size_t i;

	ck_assert(mock_dump(&m, "users", &users));
	for (i = 0; i < users.n && !other; i++)
		if (jint(users.rows[i], "id") != self_id)
			other = jint(users.rows[i], "id");
	dump_free(&users);

	snprintf(body, sizeof body, "members[]=%lld&context_type=general&type=private_chat&message=Hello%%20%%F0%%9F%%91%%8B",
		 other);
	v = call("POST", "/api/messages/0.1/threads/", body, "application/x-www-form-urlencoded", 200, NULL);
	tid = jint(jget(v, "result", NULL), "id");
	ck_assert_int_gt(tid, 0);
	ck_assert_uint_eq(jget(jget(v, "result", "thread"), "members", NULL)->u.array.len, 2);
	yajl_tree_free(v);
	/* the same conversation again is the same thread */
	snprintf(body, sizeof body, "members[]=%lld&context_type=general&type=private_chat", other);
	v = call("POST", "/api/messages/0.1/threads/", body, "application/x-www-form-urlencoded", 200, NULL);
	ck_assert_int_eq(jint(jget(v, "result", NULL), "id"), tid);
	yajl_tree_free(v);
	expect("POST", "/api/messages/0.1/threads/", "context_type=general", 400, "RestExceptionCodes.INVALID_REQUEST");

	snprintf(path, sizeof path, "/api/messages/0.1/threads/%lld/messages/", tid);
	v = call("POST", path, "message=second+one&client_message_id=777", "application/x-www-form-urlencoded", 200, NULL);
	mid = jint(jget(v, "result", NULL), "id");
	ck_assert_str_eq(jstr(jget(v, "result", NULL), "message"), "second one");
	yajl_tree_free(v);
	v = call("POST", path, "message=second+one&client_message_id=777", "application/x-www-form-urlencoded", 200, NULL);
	ck_assert_int_eq(jint(jget(v, "result", NULL), "id"), mid);
	yajl_tree_free(v);
	v = call("POST", path, "message=", "application/x-www-form-urlencoded", 400, "RestExceptionCodes.INVALID_REQUEST");
	yajl_tree_free(v);
	/* multipart/form-data, which the reference lists too */
	v = call("POST", path,
		 "--XyZ\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nvia multipart\r\n"
		 "--XyZ\r\nContent-Disposition: form-data; name=\"client_message_id\"\r\n\r\n778\r\n--XyZ--\r\n",
		 "multipart/form-data; boundary=XyZ", 200, NULL);
	ck_assert_str_eq(jstr(jget(v, "result", NULL), "message"), "via multipart");
	ck_assert_int_eq(jint(jget(v, "result", NULL), "client_message_id"), 778);
	yajl_tree_free(v);
	expect("POST", "/api/messages/0.1/threads/17/messages/", "message=x", 404, "RestExceptionCodes.NOT_FOUND");

	snprintf(path, sizeof path, "/api/messages/0.1/messages/?threads[]=%lld", tid);
	v = get_ok(path);
	ck_assert_uint_eq(jget(v, "result", "messages")->u.array.len, 3); /* greeting, one resent message, multipart */
	yajl_tree_free(v);

	snprintf(path, sizeof path, "/api/messages/0.1/threads/?threads[]=%lld&action=archive", tid);
	expect("PUT", path, NULL, 200, NULL);
	snprintf(path, sizeof path, "/api/messages/0.1/threads/?threads[]=%lld&action=mute", tid);
	expect("PUT", path, NULL, 200, NULL);
	snprintf(path, sizeof path, "/api/messages/0.1/threads/%lld/", tid);
	v = get_ok(path);
	ck_assert_str_eq(jstr(jget(v, "result", "threads")->u.array.values[0], "folder"), "archived");
	ck_assert(YAJL_IS_TRUE(jget(jget(v, "result", "threads")->u.array.values[0], "is_muted", NULL)));
	yajl_tree_free(v);
	expect("PUT", "/api/messages/0.1/threads/?threads[]=3&action=read", NULL, 404, "RestExceptionCodes.NOT_FOUND");
	snprintf(path, sizeof path, "/api/messages/0.1/threads/?threads[]=%lld&action=shout", tid);
	expect("PUT", path, NULL, 400, "RestExceptionCodes.BAD_ENUM");
}
END_TEST

/* ---- projects ---------------------------------------------------------------------------- */

START_TEST(projects_and_invites)
{
	static const char good[] =
		"{\"title\":\"Build my Super Website! 🚀\",\"description\":\"I need this website to make visual basic GUIs\","
		"\"currency\":{\"id\":1},\"budget\":{\"minimum\":1000,\"maximum\":2000},\"jobs\":[{\"id\":7},{\"id\":3}]}";
	yajl_val v;
	long long pid, other;
	char path[256], buf[128];
	struct dump users;

	ck_assert(mock_dump(&m, "users", &users));
	other = jint(users.rows[0], "id") == self_id ? jint(users.rows[1], "id") : jint(users.rows[0], "id");
	dump_free(&users);

	v = call("POST", "/api/projects/0.1/projects/", good, NULL, 200, NULL);
	pid = jint(jget(v, "result", NULL), "id");
	ck_assert_int_eq(jint(jget(v, "result", NULL), "owner_id"), self_id);
	yajl_tree_free(v);
	snprintf(path, sizeof path, "/api/projects/0.1/projects/%lld/", pid);
	ck_assert_str_eq(field_of(path, "title", buf, sizeof buf), "Build my Super Website! 🚀");
	snprintf(path, sizeof path, "/api/projects/0.1/projects/?owners[]=%lld&projects[]=%lld", self_id, pid);
	v = get_ok(path);
	ck_assert_uint_eq(jget(v, "result", "projects")->u.array.len, 1);
	yajl_tree_free(v);

	expect("POST", "/api/projects/0.1/projects/", good, 409, "ProjectExceptionCodes.DUPLICATE_PROJECT");
	expect("POST", "/api/projects/0.1/projects/", "{\"description\":\"d\"}", 400, "ProjectExceptionCodes.EMPTY_PROJECT_TITLE");
	expect("POST", "/api/projects/0.1/projects/",
	       "{\"title\":\"t2\",\"description\":\"d\",\"currency\":{\"id\":999},\"budget\":{\"minimum\":10},\"jobs\":[{\"id\":7}]}",
	       400, "ProjectExceptionCodes.INVALID_PROJECT_CURRENCY");
	expect("POST", "/api/projects/0.1/projects/",
	       "{\"title\":\"t2\",\"description\":\"d\",\"currency\":{\"id\":1},\"budget\":{\"minimum\":10,\"maximum\":5},\"jobs\":[{\"id\":7}]}",
	       400, "ProjectExceptionCodes.PROJECT_MAXIMUM_BUDGET_LESS_THAN_MINIMUM_BUDGET");
	expect("POST", "/api/projects/0.1/projects/",
	       "{\"title\":\"t2\",\"description\":\"d\",\"currency\":{\"id\":1},\"budget\":{\"minimum\":10}}",
	       400, "ProjectExceptionCodes.PROJECT_MISSING_JOBS");
	expect("POST", "/api/projects/0.1/projects/",
	       "{\"title\":\"t2\",\"description\":\"mail me at a@b.com\",\"currency\":{\"id\":1},\"budget\":{\"minimum\":10},\"jobs\":[{\"id\":7}]}",
	       400, "ProjectExceptionCodes.CONTACT_DETAILS_IN_PROJECT_DESCRIPTION");

	snprintf(path, sizeof path, "/api/projects/0.1/projects/%lld/invite/", pid);
	snprintf(buf, sizeof buf, "{\"freelancer_id\":%lld}", other);
	expect("POST", path, buf, 200, NULL);
	expect("POST", path, buf, 400, "ProjectExceptionCodes.FREELANCER_ALREADY_INVITED");
	expect("POST", "/api/projects/0.1/projects/4000000000/invite/", buf, 403, "AuthorisationExceptionCodes.PERMISSION_DENIED");
}
END_TEST

/* ---- the log -------------------------------------------------------------------------------- */

START_TEST(write_log)
{
	struct resp r;
	yajl_val v;
	char *line, *save = NULL;
	long n = 0, applied_ok = 0, dup = 0;

	mock_call(&m, "GET", "/_mock/log", NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 200);
	for (line = strtok_r(r.body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char err[64];

		v = yajl_tree_parse(line, err, sizeof err);
		ck_assert_ptr_nonnull(v);
		ck_assert_int_eq(jint(v, "seq"), n + 1);
		ck_assert_ptr_nonnull(jstr(v, "method"));
		ck_assert_ptr_nonnull(jstr(v, "path"));
		ck_assert_ptr_nonnull(jstr(v, "body"));
		if (jint(v, "status") == 200 && jint(v, "id") > 0)
			applied_ok++;
		if (jstr(v, "error_code") && strcmp(jstr(v, "error_code"), "ProjectExceptionCodes.DUPLICATE_BID") == 0)
			dup++;
		yajl_tree_free(v);
		n++;
	}
	resp_free(&r);
	/* The tests above ran first, on the same server. */
	ck_assert_int_ge(n, 40);
	ck_assert_int_ge(applied_ok, 8);
	ck_assert_int_eq(dup, 1);
}
END_TEST

/* ---- fidelity found with the official SDK --------------------------------------------------- */

/* Enums match without regard to case, as the API does (the SDK posts "type": "HOURLY"). */
START_TEST(enums_any_case)
{
	yajl_val v;
	struct dump bids;
	long long bid = 0;
	char path[256];
	size_t i;

	v = call("POST", "/api/projects/0.1/projects/",
		 "{\"title\":\"Upper-case hourly\",\"description\":\"d\",\"currency\":{\"id\":1},"
		 "\"budget\":{\"minimum\":10},\"jobs\":[{\"id\":7}],\"type\":\"HOURLY\"}", NULL, 200, NULL);
	ck_assert_str_eq(jstr(jget(v, "result", NULL), "type"), "hourly");
	yajl_tree_free(v);
	expect("POST", "/api/projects/0.1/projects/",
	       "{\"title\":\"Bad type\",\"description\":\"d\",\"currency\":{\"id\":1},"
	       "\"budget\":{\"minimum\":10},\"jobs\":[{\"id\":7}],\"type\":\"HOURLYISH\"}", 400, "RestExceptionCodes.BAD_ENUM");
	/* an action in capitals is the action */
	ck_assert(mock_dump(&m, "bids", &bids));
	for (i = 0; i < bids.n && !bid; i++)
		if (jint(bids.rows[i], "bidder_id") == self_id && is_false(bids.rows[i], "highlighted") &&
		    is_false(bids.rows[i], "retracted"))
			bid = jint(bids.rows[i], "id");
	dump_free(&bids);
	ck_assert_int_gt(bid, 0);
	snprintf(path, sizeof path, "/api/projects/0.1/bids/%lld/?action=HighLight", bid);
	expect("PUT", path, NULL, 200, NULL);
	expect("PUT", path, NULL, 409, "ProjectExceptionCodes.BID_ALREADY_HIGHLIGHTED");
	snprintf(path, sizeof path, "/api/projects/0.1/bids/%lld/?action=glow", bid);
	expect("PUT", path, NULL, 400, "RestExceptionCodes.BAD_ENUM");
	/* a list filter's enum too */
	v = get_ok("/api/projects/0.1/projects/active/?project_types[]=HOURLY&limit=5");
	for (i = 0; i < jget(v, "result", "projects")->u.array.len; i++)
		ck_assert_str_eq(jstr(jget(v, "result", "projects")->u.array.values[i], "type"), "hourly");
	yajl_tree_free(v);
}
END_TEST

/* Hourly commitment hours come back as they were sent (hourly_project_info.commitment). */
START_TEST(hourly_commitment)
{
	yajl_val v, info;
	long long pid;
	char path[256];

	v = call("POST", "/api/projects/0.1/projects/",
		 "{\"title\":\"Forty-three hours a week\",\"description\":\"d\",\"currency\":{\"id\":1},"
		 "\"budget\":{\"minimum\":10},\"jobs\":[{\"id\":7}],\"type\":\"HOURLY\","
		 "\"hourly_project_info\":{\"commitment\":{\"hours\":43,\"interval\":\"WEEK\"}}}", NULL, 200, NULL);
	pid = jint(jget(v, "result", NULL), "id");
	info = jget(jget(v, "result", "hourly_project_info"), "commitment", NULL);
	ck_assert_int_eq(jint(info, "hours"), 43);
	ck_assert_str_eq(jstr(info, "interval"), "week");
	yajl_tree_free(v);
	snprintf(path, sizeof path, "/api/projects/0.1/projects/%lld/", pid);
	v = get_ok(path);
	info = jget(jget(v, "result", "hourly_project_info"), "commitment", NULL);
	ck_assert_int_eq(jint(info, "hours"), 43);
	yajl_tree_free(v);
	v = call("POST", "/api/projects/0.1/projects/",
		 "{\"title\":\"Five hours a day\",\"description\":\"d\",\"currency\":{\"id\":1},"
		 "\"budget\":{\"minimum\":10},\"jobs\":[{\"id\":7}],\"type\":\"hourly\","
		 "\"hourly_project_info\":{\"commitment\":{\"hours\":5,\"interval\":\"day\"}}}", NULL, 200, NULL);
	info = jget(jget(v, "result", "hourly_project_info"), "commitment", NULL);
	ck_assert_int_eq(jint(info, "hours"), 5);
	ck_assert_str_eq(jstr(info, "interval"), "day");
	yajl_tree_free(v);
	expect("POST", "/api/projects/0.1/projects/",
	       "{\"title\":\"Negative hours\",\"description\":\"d\",\"currency\":{\"id\":1},\"budget\":{\"minimum\":10},"
	       "\"jobs\":[{\"id\":7}],\"type\":\"hourly\",\"hourly_project_info\":{\"commitment\":{\"hours\":-2,\"interval\":\"week\"}}}",
	       400, "ProjectExceptionCodes.NEGATIVE_PROJECT_COMMITMENT_HOURS_AMOUNT");
	expect("POST", "/api/projects/0.1/projects/",
	       "{\"title\":\"Zero hours\",\"description\":\"d\",\"currency\":{\"id\":1},\"budget\":{\"minimum\":10},"
	       "\"jobs\":[{\"id\":7}],\"type\":\"hourly\",\"hourly_project_info\":{\"commitment\":{\"hours\":0,\"interval\":\"week\"}}}",
	       400, "ProjectExceptionCodes.INVALID_PROJECT_COMMITMENT_HOURS_AMOUNT");
	expect("POST", "/api/projects/0.1/projects/",
	       "{\"title\":\"Odd interval\",\"description\":\"d\",\"currency\":{\"id\":1},\"budget\":{\"minimum\":10},"
	       "\"jobs\":[{\"id\":7}],\"type\":\"hourly\",\"hourly_project_info\":{\"commitment\":{\"hours\":3,\"interval\":\"fortnight\"}}}",
	       400, "ProjectExceptionCodes.INVALID_PROJECT_PERIOD_INTERVAL");
}
END_TEST

/* Hire-me projects: the initial bid is placed and awarded with the project; job 417 exists. */
START_TEST(hireme_projects)
{
	struct dump users;
	long long other = 0, pid;
	char body[1024], path[256];
	yajl_val v, bids, b, jobs;
	size_t i;
	bool hire_job = false;

	ck_assert(mock_dump(&m, "users", &users));
	for (i = 0; i < users.n && !other; i++)
		if (jint(users.rows[i], "id") != self_id)
			other = jint(users.rows[i], "id");
	dump_free(&users);

	/* as the official SDK posts one: the job list ends with 417 */
	snprintf(body, sizeof body,
		 "{\"title\":\"Hire you directly\",\"description\":\"the logo we spoke of\",\"currency\":{\"id\":1},"
		 "\"budget\":{\"minimum\":10},\"jobs\":[{\"id\":7},{\"id\":417}],\"hireme\":true,"
		 "\"hireme_initial_bid\":{\"id\":null,\"bidder_id\":%lld,\"project_id\":null,\"retracted\":null,"
		 "\"amount\":100,\"period\":7,\"description\":\"Hello\",\"project_owner_id\":%lld}}", other, self_id);
	v = call("POST", "/api/projects/0.1/projects/", body, NULL, 200, NULL);
	pid = jint(jget(v, "result", NULL), "id");
	ck_assert(YAJL_IS_TRUE(jget(jget(v, "result", NULL), "hireme", NULL)));
	jobs = jget(jget(v, "result", NULL), "jobs", NULL);
	for (i = 0; jobs && i < jobs->u.array.len; i++)
		if (jint(jobs->u.array.values[i], "id") == 417) {
			hire_job = true;
			ck_assert_str_eq(jstr(jobs->u.array.values[i], "name"), "Hire Me");
		}
	ck_assert_msg(hire_job, "the hire-me project lacks job 417");
	yajl_tree_free(v);

	snprintf(path, sizeof path, "/api/projects/0.1/bids/?projects[]=%lld", pid);
	v = get_ok(path);
	bids = jget(v, "result", "bids");
	ck_assert_uint_eq(bids->u.array.len, 1);
	b = bids->u.array.values[0];
	ck_assert_int_eq(jint(b, "bidder_id"), other);
	ck_assert_int_eq(jint(b, "amount"), 100);
	ck_assert_int_eq(jint(b, "period"), 7);
	ck_assert_str_eq(jstr(b, "description"), "Hello");
	ck_assert_str_eq(jstr(b, "award_status"), "pending"); /* awarded; the freelancer accepts next */
	yajl_tree_free(v);

	expect("POST", "/api/projects/0.1/projects/",
	       "{\"title\":\"Hire without a bid\",\"description\":\"d\",\"currency\":{\"id\":1},\"budget\":{\"minimum\":10},"
	       "\"jobs\":[{\"id\":7},{\"id\":417}],\"hireme\":true}", 400, "ProjectExceptionCodes.HIREME_INITIAL_BID_MISSING");
	snprintf(body, sizeof body,
		 "{\"title\":\"Hire myself\",\"description\":\"d\",\"currency\":{\"id\":1},\"budget\":{\"minimum\":10},"
		 "\"jobs\":[{\"id\":417}],\"hireme\":true,\"hireme_initial_bid\":{\"bidder_id\":%lld,\"amount\":50,\"period\":3}}",
		 self_id);
	expect("POST", "/api/projects/0.1/projects/", body, 400, "ProjectExceptionCodes.HIREME_SAME_SELLER_BUYER");
	snprintf(body, sizeof body,
		 "{\"title\":\"Hire cheaply\",\"description\":\"d\",\"currency\":{\"id\":1},\"budget\":{\"minimum\":10},"
		 "\"jobs\":[{\"id\":417}],\"hireme\":true,\"hireme_initial_bid\":{\"bidder_id\":%lld,\"amount\":5,\"period\":3}}",
		 other);
	expect("POST", "/api/projects/0.1/projects/", body, 400, "ProjectExceptionCodes.HIREME_BID_AMOUNT_TOO_SMALL");
	snprintf(body, sizeof body,
		 "{\"title\":\"Hire you directly\",\"description\":\"d\",\"currency\":{\"id\":1},\"budget\":{\"minimum\":10},"
		 "\"jobs\":[{\"id\":417}],\"hireme\":true,\"hireme_initial_bid\":{\"bidder_id\":%lld,\"amount\":50,\"period\":3}}",
		 other);
	expect("POST", "/api/projects/0.1/projects/", body, 409, "ProjectExceptionCodes.HIREME_DUPLICATE_PROJECT_TITLE");

	/* the job is in the world's list of jobs */
	v = get_ok("/api/projects/0.1/jobs/");
	hire_job = false;
	for (i = 0; i < jget(v, "result", NULL)->u.array.len; i++)
		if (jint(jget(v, "result", NULL)->u.array.values[i], "id") == 417)
			hire_job = true;
	ck_assert_msg(hire_job, "GET jobs/ has no job 417");
	yajl_tree_free(v);
}
END_TEST

/* Add New Message: files and attachments without a message text, returned in attachments. */
START_TEST(message_attachments)
{
	struct dump threads;
	long long tid;
	char path[256];
	yajl_val v, att;

	ck_assert(mock_dump(&m, "threads", &threads));
	ck_assert_uint_gt(threads.n, 0);
	tid = jint(threads.rows[0], "id");
	dump_free(&threads);
	snprintf(path, sizeof path, "/api/messages/0.1/threads/%lld/messages/", tid);
	/* as the SDK's post_attachment sends them: attachments[] names, and the files */
	v = call("POST", path,
		 "--B0\r\nContent-Disposition: form-data; name=\"attachments[]\"\r\n\r\ndescription.txt\r\n"
		 "--B0\r\nContent-Disposition: form-data; name=\"attachments[]\"\r\n\r\nscreenshot.jpg\r\n"
		 "--B0\r\nContent-Disposition: form-data; name=\"files[]\"; filename=\"text.txt\"\r\n"
		 "Content-Type: text/plain\r\n\r\nsome words\r\n"
		 "--B0\r\nContent-Disposition: form-data; name=\"files[]\"; filename=\"image.jpg\"\r\n"
		 "Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xe0 bytes\r\n--B0--\r\n",
		 "multipart/form-data; boundary=B0", 200, NULL);
	att = jget(jget(v, "result", NULL), "attachments", NULL);
	ck_assert(YAJL_IS_ARRAY(att));
	ck_assert_uint_eq(att->u.array.len, 2);
	ck_assert_str_eq(jstr(att->u.array.values[0], "filename"), "description.txt");
	ck_assert_str_eq(jstr(att->u.array.values[1], "filename"), "screenshot.jpg");
	ck_assert_str_eq(jstr(jget(v, "result", NULL), "message"), "");
	yajl_tree_free(v);
	/* a file part alone is named by its own file name */
	v = call("POST", path,
		 "--B1\r\nContent-Disposition: form-data; name=\"files[]\"; filename=\"source.c\"\r\n\r\nint main;\r\n--B1--\r\n",
		 "multipart/form-data; boundary=B1", 200, NULL);
	att = jget(jget(v, "result", NULL), "attachments", NULL);
	ck_assert_uint_eq(att->u.array.len, 1);
	ck_assert_str_eq(jstr(att->u.array.values[0], "filename"), "source.c");
	yajl_tree_free(v);
	/* a text message has none; nothing at all is refused */
	v = call("POST", path, "message=plain", "application/x-www-form-urlencoded", 200, NULL);
	ck_assert_uint_eq(jget(jget(v, "result", NULL), "attachments", NULL)->u.array.len, 0);
	yajl_tree_free(v);
	expect("POST", path, "message=", 400, "RestExceptionCodes.INVALID_REQUEST");
	/* a later read shows them */
	snprintf(path, sizeof path, "/api/messages/0.1/messages/?threads[]=%lld&limit=100", tid);
	v = get_ok(path);
	{
		yajl_val ms = jget(v, "result", "messages");
		size_t i, with = 0;

		for (i = 0; i < ms->u.array.len; i++)
			if (jget(ms->u.array.values[i], "attachments", NULL)->u.array.len)
				with++;
		ck_assert_uint_eq(with, 2);
	}
	yajl_tree_free(v);
}
END_TEST

int main(void)
{
	const TTest *tests[] = {
		bid_create_and_errors,
		award_lifecycle,
		accept_and_reject_awards,
		milestones,
		milestone_requests,
		review_post,
		threads_and_messages,
		projects_and_invites,
		write_log,
		enums_any_case,
		hourly_commitment,
		hireme_projects,
		message_attachments,
		NULL,
	};
	const struct check_case cases[] = {
		{ "writes", tests, .start = start, .stop = stop, .timeout = 120 },
	};

	return mock_run_suite(check_suite("flmock writes", cases, sizeof cases / sizeof cases[0]));
}

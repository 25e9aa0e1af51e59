/*
 * test_flmock_webhooks.c — flmock's webhooks: Create Webhook and Get Webhooks
 * (fields, filters, validation errors, 401, rate limits), deliveries to a
 * loopback receiver for every event type the world's changes make, their
 * payload shape, and the delivery faults: duplicates, drops, delays,
 * reordering, deactivation after failures (inactive_reason), and events of
 * any type on request.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check_main.h"
#include "hookrecv.h"
#include "mockutil.h"

#define HOOKS "/api/users/0.1/webhooks/"

/* POST Create Webhook for url; the status, and the new id in *id. */
static long create(struct mock *m, const char *url, long long *id)
{
	char body[512];
	struct resp r;
	long status;
	yajl_val v;

	snprintf(body, sizeof body, "{\"developer_id\": 7, \"url\": \"%s\"}", url);
	mock_call(m, "POST", HOOKS, body, NULL, NULL, &r);
	status = r.status;
	v = resp_json(&r);
	if (id)
		*id = jint(jget(v, "result", NULL), "id");
	yajl_tree_free(v);
	resp_free(&r);
	return status;
}

/* GET /_mock/webhooks: one of its counts. */
static long long hook_stat(struct mock *m, const char *key)
{
	struct resp r;
	yajl_val v;
	long long n;

	mock_get(m, "/_mock/webhooks", &r);
	ck_assert_int_eq(r.status, 200);
	v = resp_json(&r);
	n = jint(v, key);
	yajl_tree_free(v);
	resp_free(&r);
	return n;
}

/* Until nothing is queued or being sent (or 20 s passed). */
static void settle(struct mock *m)
{
	for (int i = 0; i < 2000 && hook_stat(m, "pending") > 0; i++)
		usleep(10000);
	ck_assert_int_eq(hook_stat(m, "pending"), 0);
}

static void set_faults(struct mock *m, const char *spec)
{
	char path[256];
	struct resp r;

	snprintf(path, sizeof path, "/_mock/webhooks?spec=%s", spec);
	mock_call(m, "POST", path, NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
}

START_TEST(register_and_list)
{
	const char *args[] = { "--rate-scale", "10", NULL };
	struct mock m;
	struct resp r;
	char buf[128];
	long long id = 0, id2 = 0;
	yajl_val v, list, h;

	mock_must_start(&m, args);
	ck_assert_int_eq(create(&m, "http://127.0.0.1:9/a", &id), 200);
	ck_assert_int_gt(id, 0);
	ck_assert_int_eq(create(&m, "http://localhost:9/b", &id2), 200);
	ck_assert_int_ne(id, id2);
	/* Registering the same URL again gives the same webhook back. */
	ck_assert_int_eq(create(&m, "http://127.0.0.1:9/a", &id2), 200);
	ck_assert_int_eq(id2, id);
	ck_assert_int_eq(create(&m, "http://[::1]:9/c", NULL), 200);

	/* Only loopback URLs: flmock never calls out of the machine. */
	ck_assert_int_eq(create(&m, "https://example.com/hook", NULL), 400);
	ck_assert_int_eq(create(&m, "http://127.0.0.2/hook", NULL), 400);
	ck_assert_int_eq(create(&m, "http://localhost.example.com/hook", NULL), 400);
	ck_assert_int_eq(create(&m, "ftp://127.0.0.1/hook", NULL), 400);
	ck_assert_int_eq(create(&m, "http://127.0.0.1:99999/hook", NULL), 400);
	mock_call(&m, "POST", HOOKS, "{\"developer_id\": 7}", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(resp_error_code(&r, buf, sizeof buf), "RestExceptionCodes.BAD_FORM");
	resp_free(&r);
	mock_call(&m, "POST", HOOKS, "{\"url\": \"http://127.0.0.1:9/x\"}", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 400);
	resp_free(&r);
	mock_call(&m, "POST", HOOKS, "{\"developer_id\": \"seven\", \"url\": \"http://127.0.0.1:9/x\"}", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 400);
	resp_free(&r);
	mock_call(&m, "POST", HOOKS, "{not json", "application/json", NULL, &r);
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(resp_error_code(&r, buf, sizeof buf), "RestExceptionCodes.BAD_JSON");
	resp_free(&r);
	/* Developer authentication is required for both. */
	mock_call(&m, "POST", HOOKS, "{\"developer_id\": 7, \"url\": \"http://127.0.0.1:9/z\"}", NULL, "", &r);
	ck_assert_int_eq(r.status, 401);
	ck_assert_str_eq(resp_error_code(&r, buf, sizeof buf), "RestExceptionCodes.NOT_AUTHENTICATED");
	resp_free(&r);
	mock_call(&m, "GET", HOOKS, NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 401);
	resp_free(&r);

	mock_get(&m, HOOKS, &r);
	ck_assert_int_eq(r.status, 200);
	v = resp_json(&r);
	list = jget(jget(v, "result", NULL), "webhooks", NULL);
	ck_assert(YAJL_IS_ARRAY(list));
	ck_assert_int_eq(list->u.array.len, 3);
	h = list->u.array.values[0];
	ck_assert_int_eq(jint(h, "id"), id);
	ck_assert_int_eq(jint(h, "developer_id"), 7);
	ck_assert_int_eq(jint(h, "user_id"), mock_self(&m));
	ck_assert_str_eq(jstr(h, "url"), "http://127.0.0.1:9/a");
	ck_assert(YAJL_IS_FALSE(jget(h, "inactive", NULL)));
	ck_assert(YAJL_IS_NULL(jget(h, "inactive_reason", NULL)));
	ck_assert_int_gt(jint(h, "time_created"), 0);
	yajl_tree_free(v);
	resp_free(&r);

	/* Filters: webhooks[], developers[], users[], urls[], is_active. */
	{
		struct {
			const char *query;
			size_t n;
		} cases[] = {
			{ "?webhooks[]=1", 1 },    { "?webhooks[]=999", 0 }, { "?developers[]=7", 3 },
			{ "?developers[]=8", 0 },  { "?users[]=1", 0 },      { "?urls[]=http://localhost:9/b", 1 },
			{ "?is_active=true", 3 },  { "?is_active=false", 0 },
		};
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			char path[256];

			snprintf(path, sizeof path, "%s%s", HOOKS, cases[i].query);
			mock_get(&m, path, &r);
			ck_assert_int_eq(r.status, 200);
			v = resp_json(&r);
			list = jget(jget(v, "result", NULL), "webhooks", NULL);
			ck_assert_msg(YAJL_IS_ARRAY(list) && list->u.array.len == cases[i].n, "%s: %zu webhooks",
				      cases[i].query, YAJL_IS_ARRAY(list) ? list->u.array.len : 0);
			yajl_tree_free(v);
			resp_free(&r);
		}
	}
	mock_get(&m, HOOKS "?is_active=maybe", &r);
	ck_assert_int_eq(r.status, 400);
	resp_free(&r);
	mock_get(&m, HOOKS "?webhooks[]=x", &r);
	ck_assert_int_eq(r.status, 400);
	resp_free(&r);
	mock_stop(&m);
}
END_TEST

START_TEST(rate_limits)
{
	const char *args[] = { "--rate-scale", "0.2", NULL };
	struct mock m;
	struct resp r;
	char buf[128];

	mock_must_start(&m, args);
	/* Create Webhook: 10 an hour, scaled to 2; Get Webhooks: 500, scaled to 100. */
	ck_assert_int_eq(create(&m, "http://127.0.0.1:9/a", NULL), 200);
	ck_assert_int_eq(create(&m, "http://127.0.0.1:9/b", NULL), 200);
	mock_call(&m, "POST", HOOKS, "{\"developer_id\": 7, \"url\": \"http://127.0.0.1:9/c\"}", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 429);
	ck_assert_str_eq(resp_error_code(&r, buf, sizeof buf), "AuthorisationExceptionCodes.RATE_LIMITED");
	ck_assert_str_eq(r.rl_limit, "2, 2;window=3600");
	resp_free(&r);
	mock_get(&m, HOOKS, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.rl_limit, "100, 100;window=3600");
	ck_assert_int_eq(r.rl_remaining, 99);
	resp_free(&r);
	/* An hour of the simulator's clock opens a new window. */
	ck_assert_int_gt(mock_advance(&m, 3600), 0);
	ck_assert_int_eq(create(&m, "http://127.0.0.1:9/c", NULL), 200);
	mock_stop(&m);
}
END_TEST

static bool has(char **types, size_t n, const char *t)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(types[i], t))
			return true;
	return false;
}

/* Every delivered body: one event object of the documented shape; its type kept. */
static size_t check_bodies(struct hookrecv *h, char **types, size_t max)
{
	size_t n = hookrecv_count(h), k = 0;

	for (size_t i = 0; i < n; i++) {
		char *b = hookrecv_body(h, i), err[128];
		yajl_val v = yajl_tree_parse(b, err, sizeof err), data;
		const char *type = jstr(v, "type");

		ck_assert_msg(v && YAJL_IS_OBJECT(v), "delivery %zu is not a JSON object: %s", i, b);
		ck_assert_msg(type && jstr(v, "id") && strlen(jstr(v, "id")) == 36, "delivery %zu: %s", i, b);
		ck_assert_int_gt(jint(v, "timestamp"), 1700000000);
		data = jget(v, "data", NULL);
		ck_assert(YAJL_IS_OBJECT(data));
		if (!strncmp(type, "message.", 8) || !strncmp(type, "attachment.", 11))
			ck_assert(jint(data, "thread_id") > 0 && jint(data, "message_id") > 0);
		else if (!strncmp(type, "bid.", 4))
			ck_assert(jint(data, "bid_id") > 0 && jint(data, "project_id") > 0);
		else if (!strncmp(type, "milestone_request.", 18))
			ck_assert(jint(data, "request_id") > 0 && jint(data, "project_id") > 0);
		else if (!strncmp(type, "milestone.", 10))
			ck_assert(jint(data, "milestone_id") > 0 && jint(data, "project_id") > 0);
		else if (!strcmp(type, "project.completed"))
			ck_assert(jint(data, "project_id") > 0);
		else
			ck_abort_msg("unknown event type %s", type);
		if (k < max && !has(types, k, type))
			types[k++] = strdup(type);
		yajl_tree_free(v);
		free(b);
	}
	return k;
}

/* A milestone self funded (frozen) on an awarded bid: its id, amount and project, or 0. */
static long long own_frozen_milestone(struct mock *m, double *amount)
{
	struct dump ms, bids;
	long long self = mock_self(m), found = 0;

	ck_assert(mock_dump(m, "milestones", &ms));
	ck_assert(mock_dump(m, "bids", &bids));
	for (size_t i = 0; i < ms.n && !found; i++) {
		yajl_val x = ms.rows[i];
		const char *st = jstr(x, "status");

		if (jint(x, "project_owner_id") != self || !st || strcmp(st, "frozen"))
			continue;
		for (size_t j = 0; j < bids.n; j++)
			if (jint(bids.rows[j], "id") == jint(x, "bid_id")) {
				const char *aw = jstr(bids.rows[j], "award_status");

				if (aw && !strcmp(aw, "awarded")) {
					yajl_val a = jget(x, "amount", NULL);

					found = jint(x, "transaction_id");
					*amount = YAJL_IS_NUMBER(a) ? YAJL_GET_DOUBLE(a) : 0;
				}
				break;
			}
	}
	dump_free(&ms);
	dump_free(&bids);
	return found;
}

/* Self awards a bid on one of its active projects (bid.awarded from an API write). */
static void award_own_bid(struct mock *m)
{
	struct dump bids, projects;
	long long self = mock_self(m), bid = 0;
	struct resp r;
	char path[128];

	ck_assert(mock_dump(m, "bids", &bids));
	ck_assert(mock_dump(m, "projects", &projects));
	for (size_t i = 0; i < projects.n && !bid; i++) {
		yajl_val p = projects.rows[i];
		const char *st = jstr(p, "status");
		bool taken = false;
		long long cand = 0;

		if (jint(p, "owner_id") != self || !st || strcmp(st, "active"))
			continue;
		for (size_t j = 0; j < bids.n; j++) {
			yajl_val b = bids.rows[j];

			if (jint(b, "project_id") != jint(p, "id"))
				continue;
			if (jstr(b, "award_status"))
				taken = true;
			else if (!YAJL_IS_TRUE(jget(b, "retracted", NULL)) && !cand)
				cand = jint(b, "id");
		}
		if (!taken)
			bid = cand;
	}
	dump_free(&bids);
	dump_free(&projects);
	ck_assert_int_gt(bid, 0);
	snprintf(path, sizeof path, "/api/projects/0.1/bids/%lld/?action=award", bid);
	mock_call(m, "PUT", path, NULL, NULL, NULL, &r);
	ck_assert_msg(r.status == 200, "award %lld: %ld %s", bid, r.status, r.body);
	resp_free(&r);
}

/* A milestone's amount as /_mock/dump shows it now. */
static double milestone_amount(struct mock *m, long long id)
{
	struct dump ms;
	double amount = 0;

	ck_assert(mock_dump(m, "milestones", &ms));
	for (size_t i = 0; i < ms.n; i++)
		if (jint(ms.rows[i], "transaction_id") == id) {
			yajl_val a = jget(ms.rows[i], "amount", NULL);

			amount = YAJL_IS_NUMBER(a) ? YAJL_GET_DOUBLE(a) : 0;
		}
	dump_free(&ms);
	return amount;
}

START_TEST(deliveries_for_each_event)
{
	struct hookrecv *h = hookrecv_start(NULL, NULL);
	struct mock m;
	struct resp r;
	char path[256], body[256], *types[64];
	size_t nt;
	long long ms;
	double amount = 0;

	ck_assert_ptr_nonnull(h);
	mock_must_start(&m, NULL);
	/* Nothing is queued before a webhook exists. */
	ck_assert_int_gt(mock_advance(&m, 600), 0);
	ck_assert_int_eq(hook_stat(&m, "emitted"), 0);
	ck_assert_int_eq(create(&m, hookrecv_url(h), NULL), 200);

	/* Activity: others message, award, accept, deny, revoke, make milestones and requests. */
	for (int i = 0; i < 16; i++) {
		ck_assert_int_gt(mock_advance(&m, 6 * 3600), 0);
		settle(&m); /* the queue is bounded (it drops and counts beyond 4096): let it drain */
	}
	/* API writes: a message and an attachment sent, a milestone released in part and in full. */
	{
		struct dump th;

		ck_assert(mock_dump(&m, "threads", &th));
		ck_assert_int_gt(th.n, 0);
		snprintf(path, sizeof path, "/api/messages/0.1/threads/%lld/messages/", jint(th.rows[0], "id"));
		dump_free(&th);
	}
	mock_call(&m, "POST", path, "message=hello", "application/x-www-form-urlencoded", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	mock_call(&m, "POST", path, "attachments[]=plan.pdf", "application/x-www-form-urlencoded", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	award_own_bid(&m);
	ms = own_frozen_milestone(&m, &amount);
	if (ms && amount > 2) {
		snprintf(path, sizeof path, "/api/projects/0.1/milestones/%lld/?action=release", ms);
		snprintf(body, sizeof body, "amount=%.2f", amount / 2);
		mock_call(&m, "PUT", path, body, "application/x-www-form-urlencoded", NULL, &r);
		ck_assert_int_eq(r.status, 200);
		resp_free(&r);
		snprintf(body, sizeof body, "amount=%.2f", milestone_amount(&m, ms));
		mock_call(&m, "PUT", path, body, "application/x-www-form-urlencoded", NULL, &r);
		ck_assert_int_eq(r.status, 200);
		resp_free(&r);
	}
	settle(&m);
	ck_assert_int_eq(hook_stat(&m, "delivered"), (long long)hookrecv_count(h));
	ck_assert_int_eq(hook_stat(&m, "overflow"), 0);
	ck_assert_int_eq(hook_stat(&m, "emitted"), (long long)hookrecv_count(h));
	nt = check_bodies(h, types, 64);
	{
		static const char *const want[] = { "message.received", "message.sent", "attachment.sent", "bid.awarded",
						    "bid.accepted", "milestone.created", "milestone_request.created" };

		for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
			ck_assert_msg(has(types, nt, want[i]), "no %s delivered", want[i]);
		if (ms && amount > 2) {
			ck_assert(has(types, nt, "milestone.partially_released"));
			ck_assert(has(types, nt, "milestone.released"));
		}
	}
	for (size_t i = 0; i < nt; i++)
		free(types[i]);
	mock_stop(&m);
	hookrecv_stop(h);
}
END_TEST

/* n events of activity delivered; the bodies' timestamps in arrival order. */
static size_t advance_until(struct mock *m, struct hookrecv *h, long long min_emitted)
{
	for (int i = 0; i < 50 && hook_stat(m, "emitted") < min_emitted; i++)
		mock_advance(m, 3600);
	settle(m);
	return hookrecv_count(h);
}

START_TEST(faults)
{
	struct hookrecv *h = hookrecv_start(NULL, NULL);
	struct mock m;
	long long emitted, before;
	size_t got, inversions = 0;
	long long prev = 0;

	ck_assert_ptr_nonnull(h);
	mock_must_start(&m, NULL);
	ck_assert_int_eq(create(&m, hookrecv_url(h), NULL), 200);

	/* dup=1: every event twice, byte for byte. */
	set_faults(&m, "dup=1");
	got = advance_until(&m, h, 10);
	emitted = hook_stat(&m, "emitted");
	ck_assert_int_eq(got, 2 * emitted);
	ck_assert_int_eq(hook_stat(&m, "duplicated"), emitted);
	{
		size_t same = 0;

		for (size_t i = 0; i < got; i++)
			for (size_t j = i + 1; j < got; j++) {
				char *a = hookrecv_body(h, i), *b = hookrecv_body(h, j);

				same += strcmp(a, b) == 0;
				free(a);
				free(b);
			}
		ck_assert_int_eq(same, emitted);
	}

	/* drop=1: emitted, never delivered. */
	set_faults(&m, "drop=1");
	before = hook_stat(&m, "emitted");
	advance_until(&m, h, before + 5);
	ck_assert_int_eq(hookrecv_count(h), got);
	ck_assert_int_eq(hook_stat(&m, "dropped"), hook_stat(&m, "emitted") - before);

	/* delay=1: all of them come, later. */
	set_faults(&m, "delay=1,delay_ms=200");
	before = hook_stat(&m, "emitted");
	advance_until(&m, h, before + 5);
	ck_assert_int_eq(hookrecv_count(h), got + (size_t)(hook_stat(&m, "emitted") - before));
	ck_assert_int_eq(hook_stat(&m, "delayed"), hook_stat(&m, "emitted") - before);
	got = hookrecv_count(h);

	/* reorder=0.5: a held event goes out after the next one: timestamps step back. */
	set_faults(&m, "reorder=0.5");
	before = hook_stat(&m, "emitted");
	mock_advance(&m, 2 * 86400);
	settle(&m);
	ck_assert_int_gt(hook_stat(&m, "reordered"), 0);
	ck_assert_int_eq(hookrecv_count(h), got + (size_t)(hook_stat(&m, "emitted") - before));
	for (size_t i = got; i < hookrecv_count(h); i++) {
		char *b = hookrecv_body(h, i), err[64];
		yajl_val v = yajl_tree_parse(b, err, sizeof err);

		if (prev && jint(v, "timestamp") < prev)
			inversions++;
		prev = jint(v, "timestamp");
		yajl_tree_free(v);
		free(b);
	}
	ck_assert_int_gt(inversions, 0);
	mock_stop(&m);
	hookrecv_stop(h);
}
END_TEST

START_TEST(deactivation_and_unknown_events)
{
	struct hookrecv *h = hookrecv_start(NULL, NULL);
	struct mock m;
	struct resp r;
	yajl_val v, hook;
	char *b;

	ck_assert_ptr_nonnull(h);
	mock_must_start(&m, NULL);
	ck_assert_int_eq(create(&m, hookrecv_url(h), NULL), 200);
	set_faults(&m, "fail_after=3");
	hookrecv_set_status(h, 500);
	for (int i = 0; i < 5; i++) {
		mock_call(&m, "POST", "/_mock/webhooks/emit?type=message.received&thread_id=1&message_id=2", NULL, NULL,
			  "", &r);
		ck_assert_int_eq(r.status, 200);
		resp_free(&r);
	}
	settle(&m);
	/* Three failures, then no more posts: inactive, with a reason. */
	ck_assert_int_eq(hook_stat(&m, "failed"), 3);
	mock_get(&m, HOOKS, &r);
	v = resp_json(&r);
	hook = jget(jget(v, "result", NULL), "webhooks", NULL)->u.array.values[0];
	ck_assert(YAJL_IS_TRUE(jget(hook, "inactive", NULL)));
	ck_assert_ptr_nonnull(jstr(hook, "inactive_reason"));
	ck_assert_ptr_nonnull(strstr(jstr(hook, "inactive_reason"), "HTTP 500"));
	yajl_tree_free(v);
	resp_free(&r);
	mock_get(&m, HOOKS "?is_active=false", &r);
	v = resp_json(&r);
	ck_assert_int_eq(jget(jget(v, "result", NULL), "webhooks", NULL)->u.array.len, 1);
	yajl_tree_free(v);
	resp_free(&r);

	/* Registering it again revives it; an event of any type is delivered on request. */
	hookrecv_set_status(h, 200);
	ck_assert_int_eq(create(&m, hookrecv_url(h), NULL), 200);
	mock_call(&m, "POST", "/_mock/webhooks/emit?type=account.upgraded&project_id=5", NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	mock_call(&m, "POST", "/_mock/webhooks/emit?raw=%5B1%2C2%5D", NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	mock_call(&m, "POST", "/_mock/webhooks/emit?raw=%7Bnope", NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 400);
	resp_free(&r);
	mock_call(&m, "POST", "/_mock/webhooks?spec=drop=2", NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 400);
	resp_free(&r);
	ck_assert(hookrecv_wait(h, 2, 20000));
	b = hookrecv_body(h, 0);
	v = yajl_tree_parse(b, NULL, 0);
	ck_assert_str_eq(jstr(v, "type"), "account.upgraded");
	ck_assert_int_eq(jint(jget(v, "data", NULL), "project_id"), 5);
	yajl_tree_free(v);
	free(b);
	b = hookrecv_body(h, 1);
	ck_assert_str_eq(b, "[1,2]");
	free(b);
	mock_stop(&m);
	ck_assert_int_eq(m.exit_status, 0);
	hookrecv_stop(h);
}
END_TEST

START_TEST(connection_refused_counts)
{
	const char *args[] = { "--webhook-faults", "fail_after=2", NULL };
	struct hookrecv *h = hookrecv_start(NULL, NULL);
	char url[80];
	struct mock m;
	struct resp r;
	yajl_val v, hook;

	ck_assert_ptr_nonnull(h);
	snprintf(url, sizeof url, "%s", hookrecv_url(h));
	hookrecv_stop(h); /* nothing listens there now */
	mock_must_start(&m, args);
	ck_assert_int_eq(create(&m, url, NULL), 200);
	for (int i = 0; i < 3; i++) {
		mock_call(&m, "POST", "/_mock/webhooks/emit?type=bid.awarded&bid_id=1&project_id=2", NULL, NULL, "", &r);
		resp_free(&r);
	}
	settle(&m);
	mock_get(&m, HOOKS, &r);
	v = resp_json(&r);
	hook = jget(jget(v, "result", NULL), "webhooks", NULL)->u.array.values[0];
	ck_assert(YAJL_IS_TRUE(jget(hook, "inactive", NULL)));
	ck_assert_ptr_nonnull(strstr(jstr(hook, "inactive_reason"), "2 consecutive deliveries failed"));
	yajl_tree_free(v);
	resp_free(&r);
	mock_stop(&m);
}
END_TEST

int main(void)
{
	const TTest *tests[] = {
		register_and_list,
		rate_limits,
		deliveries_for_each_event,
		faults,
		deactivation_and_unknown_events,
		connection_refused_counts,
		NULL,
	};
	const struct check_case cases[] = {
		{ "webhooks", tests, .timeout = 120 },
	};

	return mock_run_suite(check_suite("flmock webhooks", cases, sizeof cases / sizeof cases[0]));
}

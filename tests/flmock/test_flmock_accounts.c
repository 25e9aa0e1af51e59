/*
 * test_flmock_accounts.c — flmock with several accounts (--accounts N): each token
 * (T, T-2, ...) is its own self with its own projects, threads, messages and
 * milestones, while the market is the same for all; writes act as the
 * token's account and the log names it; rate budgets are per account and
 * /_mock/stats counts each account's requests and refusals; /_mock/self
 * takes the account from account= or the token; OAuth's login=K signs in as
 * account K; a 50-account world generates, every account with data of its
 * own; one account is the world as before.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check_main.h"
#include "mockutil.h"

static void auth_for(char *out, size_t n, const char *token)
{
	snprintf(out, n, "Freelancer-OAuth-V1: %s", token);
}

/* GET path as `token`; the parsed body of a 200 (caller frees), else NULL. */
static yajl_val get_as(struct mock *m, const char *token, const char *path, long *status)
{
	char auth[128];
	struct resp r;
	yajl_val v;

	auth_for(auth, sizeof auth, token);
	mock_call(m, "GET", path, NULL, NULL, auth, &r);
	if (status)
		*status = r.status;
	v = r.status == 200 ? resp_json(&r) : NULL;
	resp_free(&r);
	return v;
}

static long long self_of(struct mock *m, const char *token)
{
	yajl_val v = get_as(m, token, "/api/users/0.1/self/?compact", NULL);
	long long id = jint(jget(v, "result", NULL), "id");

	yajl_tree_free(v);
	return id;
}

/* Every "id" of result[key] (an array) over all pages, as `token`; -1 on failure. */
static long collect_as(struct mock *m, const char *token, const char *path, const char *key, long long *out,
		       long max)
{
	char auth[128];

	auth_for(auth, sizeof auth, token);
	return mock_collect_ids_auth(m, auth, path, key, out, max);
}

static bool disjoint(const long long *a, long na, const long long *b, long nb)
{
	for (long i = 0; i < na; i++)
		for (long j = 0; j < nb; j++)
			if (a[i] == b[j])
				return false;
	return true;
}

enum { MAX_IDS = 20000 };

START_TEST(own_data_and_shared_market)
{
	const char *args[] = { "--accounts", "2", "--scale", "3000", "--seed", "5", NULL };
	static long long a1[MAX_IDS], a2[MAX_IDS];
	struct mock m;
	char path[256], auth[128], body[256];
	long n1, n2, st;
	long long s1, s2;
	yajl_val v, list;
	struct resp r;

	mock_must_start(&m, args);
	s1 = self_of(&m, "demo");
	s2 = self_of(&m, "demo-2");
	ck_assert_int_gt(s1, 0);
	ck_assert_int_gt(s2, 0);
	ck_assert_int_ne(s1, s2);
	ck_assert_int_eq(self_of(&m, "demo-3"), 0); /* only two accounts */
	ck_assert_int_eq(mock_self(&m), s1);

	/* Own projects: each account has some, and they are its own. */
	snprintf(path, sizeof path, "/api/projects/0.1/projects/?compact&owners[]=%lld", s1);
	n1 = collect_as(&m, "demo", path, "projects", a1, MAX_IDS);
	snprintf(path, sizeof path, "/api/projects/0.1/projects/?compact&owners[]=%lld", s2);
	n2 = collect_as(&m, "demo-2", path, "projects", a2, MAX_IDS);
	ck_assert_int_gt(n1, 0);
	ck_assert_int_gt(n2, 0);
	ck_assert(disjoint(a1, n1, a2, n2));

	/* Threads: each account sees its own inbox, and not the other's. */
	n1 = collect_as(&m, "demo", "/api/messages/0.1/threads/?compact", "threads", a1, MAX_IDS);
	n2 = collect_as(&m, "demo-2", "/api/messages/0.1/threads/?compact", "threads", a2, MAX_IDS);
	ck_assert_int_gt(n1, 0);
	ck_assert_int_gt(n2, 0);
	ck_assert(disjoint(a1, n1, a2, n2));
	snprintf(path, sizeof path, "/api/messages/0.1/threads/%lld/?compact", a2[0]);
	v = get_as(&m, "demo", path, &st);
	ck_assert_int_eq(st, 404);
	yajl_tree_free(v);
	v = get_as(&m, "demo-2", path, &st);
	ck_assert_int_eq(st, 200);
	yajl_tree_free(v);

	/* Messages: only those of one's own threads. */
	n1 = collect_as(&m, "demo", "/api/messages/0.1/messages/?compact", "messages", a1, MAX_IDS);
	n2 = collect_as(&m, "demo-2", "/api/messages/0.1/messages/?compact", "messages", a2, MAX_IDS);
	ck_assert_int_gt(n1, 0);
	ck_assert_int_gt(n2, 0);
	ck_assert(disjoint(a1, n1, a2, n2));

	/* Milestones: each account sees only those it is a party to. */
	v = get_as(&m, "demo-2", "/api/projects/0.1/milestones/?compact&limit=100", &st);
	list = jget(v, "result", "milestones");
	ck_assert_ptr_nonnull(list);
	ck_assert(YAJL_IS_OBJECT(list));
	ck_assert_int_gt((long)list->u.object.len, 0);
	for (size_t i = 0; i < list->u.object.len; i++) {
		yajl_val ms = list->u.object.values[i];

		ck_assert(jint(ms, "bidder_id") == s2 || jint(ms, "project_owner_id") == s2);
	}
	yajl_tree_free(v);

	/* The market is one: the same active projects for both. */
	n1 = collect_as(&m, "demo", "/api/projects/0.1/projects/active/?compact", "projects", a1, MAX_IDS);
	n2 = collect_as(&m, "demo-2", "/api/projects/0.1/projects/active/?compact", "projects", a2, MAX_IDS);
	ck_assert_int_gt(n1, 0);
	ck_assert_int_eq(n1, n2);
	ck_assert(memcmp(a1, a2, (size_t)n1 * sizeof *a1) == 0);

	/* A write acts as its token's account, and the log says whose it was. */
	n2 = collect_as(&m, "demo-2", "/api/messages/0.1/threads/?compact", "threads", a2, MAX_IDS);
	snprintf(path, sizeof path, "/api/messages/0.1/threads/%lld/messages/", a2[0]);
	snprintf(body, sizeof body, "{\"message\":\"from account two\"}");
	auth_for(auth, sizeof auth, "demo-2");
	mock_call(&m, "POST", path, body, NULL, auth, &r);
	ck_assert_int_eq(r.status, 200);
	v = resp_json(&r);
	ck_assert_int_eq(jint(jget(v, "result", NULL), "from_user"), s2);
	yajl_tree_free(v);
	resp_free(&r);
	auth_for(auth, sizeof auth, "demo");
	mock_call(&m, "POST", path, body, NULL, auth, &r);
	ck_assert_int_eq(r.status, 404); /* not account 1's thread */
	resp_free(&r);
	mock_get(&m, "/_mock/log", &r);
	ck_assert_ptr_nonnull(strstr(r.body, "\"account\":2,"));
	ck_assert_ptr_nonnull(strstr(r.body, "\"account\":1,"));
	resp_free(&r);
	mock_stop(&m);
	ck_assert_int_eq(m.exit_status, 0);
}
END_TEST

static yajl_val stats_account(yajl_val stats, const char *account)
{
	return jget(jget(stats, "accounts", NULL), account, NULL);
}

START_TEST(rate_limits_per_account)
{
	const char *args[] = { "--accounts", "2", "--rate-scale", "0.01", NULL };
	struct mock m;
	char auth1[64], auth2[64];
	struct resp r;
	yajl_val v, a;

	mock_must_start(&m, args);
	auth_for(auth1, sizeof auth1, "demo");
	auth_for(auth2, sizeof auth2, "demo-2");
	/* Get User Information: 200 per user per minute, scaled to 2: account 1 spends its budget... */
	for (int i = 0; i < 2; i++) {
		mock_call(&m, "GET", "/api/users/0.1/users/?limit=1", NULL, NULL, auth1, &r);
		ck_assert_int_eq(r.status, 200);
		resp_free(&r);
	}
	mock_call(&m, "GET", "/api/users/0.1/users/?limit=1", NULL, NULL, auth1, &r);
	ck_assert_int_eq(r.status, 429);
	resp_free(&r);
	/* ... and account 2 still has all of its own. */
	mock_call(&m, "GET", "/api/users/0.1/users/?limit=1", NULL, NULL, auth2, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.rl_limit, "2, 2;window=60");
	ck_assert_int_eq(r.rl_remaining, 1);
	resp_free(&r);

	mock_get(&m, "/_mock/stats", &r);
	v = resp_json(&r);
	resp_free(&r);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(jint(v, "requests"), 4);
	a = stats_account(v, "1");
	ck_assert_int_eq(jint(a, "requests"), 3);
	ck_assert_int_eq(jint(a, "rate_limited"), 1);
	ck_assert_int_eq(jint(jget(a, "endpoints", "GET /api/users/0.1/users/"), "429"), 1);
	ck_assert_int_eq(jint(jget(a, "endpoints", "GET /api/users/0.1/users/"), "200"), 2);
	a = stats_account(v, "2");
	ck_assert_int_eq(jint(a, "requests"), 1);
	ck_assert_int_eq(jint(a, "rate_limited"), 0);
	ck_assert_int_eq(jint(jget(a, "endpoints", "GET /api/users/0.1/users/"), "200"), 1);
	/* Every account together, as before. */
	ck_assert_int_eq(jint(jget(v, "endpoints", "GET /api/users/0.1/users/"), "200"), 3);
	yajl_tree_free(v);
	mock_stop(&m);
}
END_TEST

START_TEST(mock_self_and_accounts)
{
	const char *args[] = { "--accounts", "3", "--token", "tk", "--scale", "500", NULL };
	struct mock m;
	struct resp r;
	yajl_val v, list;
	long long ids[3];

	mock_must_start(&m, args);
	mock_get(&m, "/_mock/accounts", &r);
	v = resp_json(&r);
	resp_free(&r);
	list = jget(v, "accounts", NULL);
	ck_assert_ptr_nonnull(list);
	ck_assert_int_eq((long)list->u.array.len, 3);
	ck_assert_str_eq(jstr(list->u.array.values[0], "token"), "tk");
	ck_assert_str_eq(jstr(list->u.array.values[2], "token"), "tk-3");
	for (int i = 0; i < 3; i++)
		ids[i] = jint(list->u.array.values[i], "id");
	yajl_tree_free(v);
	ck_assert_int_eq(self_of(&m, "tk"), ids[0]);
	ck_assert_int_eq(self_of(&m, "tk-2"), ids[1]);
	ck_assert_int_eq(self_of(&m, "tk-3"), ids[2]);
	ck_assert_int_eq(self_of(&m, "tk-4"), 0);
	ck_assert_int_eq(self_of(&m, "tk-03"), 0);

	mock_get(&m, "/_mock/self?account=3", &r);
	v = resp_json(&r);
	ck_assert_int_eq(jint(v, "id"), ids[2]);
	ck_assert_int_eq(jint(v, "account"), 3);
	ck_assert_int_eq(jint(v, "accounts"), 3);
	yajl_tree_free(v);
	resp_free(&r);
	mock_call(&m, "GET", "/_mock/self", NULL, NULL, "Freelancer-OAuth-V1: tk-2", &r);
	v = resp_json(&r);
	ck_assert_int_eq(jint(v, "id"), ids[1]);
	yajl_tree_free(v);
	resp_free(&r);
	mock_call(&m, "GET", "/_mock/self", NULL, NULL, "", &r);
	v = resp_json(&r);
	ck_assert_int_eq(jint(v, "id"), ids[0]);
	yajl_tree_free(v);
	resp_free(&r);
	mock_get(&m, "/_mock/self?account=4", &r);
	ck_assert_int_eq(r.status, 400);
	resp_free(&r);
	mock_get(&m, "/_mock/self?account=0", &r);
	ck_assert_int_eq(r.status, 400);
	resp_free(&r);
	mock_stop(&m);
}
END_TEST

#define REDIRECT_ENC "http%3A%2F%2F127.0.0.1%3A9%2Fcb"

static char *authorise_as(struct mock *m, const char *login, struct resp *r)
{
	char path[512];
	const char *c;

	snprintf(path, sizeof path, "/oauth/authorise?response_type=code&client_id=flsync-demo&redirect_uri=%s"
		 "&state=s1%s%s", REDIRECT_ENC, login ? "&login=" : "", login ? login : "");
	mock_call(m, "GET", path, NULL, NULL, "", r);
	c = strstr(r->location, "code=");
	return c ? strndup(c + 5, strcspn(c + 5, "&")) : NULL;
}

/* The access token for a code (caller frees). */
static char *exchange(struct mock *m, const char *code)
{
	char form[512];
	struct resp r;
	yajl_val v;
	char *tok;

	snprintf(form, sizeof form, "grant_type=authorization_code&code=%s&redirect_uri=%s&client_id=flsync-demo"
		 "&client_secret=demo-secret", code, REDIRECT_ENC);
	mock_call(m, "POST", "/oauth/token", form, "application/x-www-form-urlencoded", "", &r);
	ck_assert_int_eq(r.status, 200);
	v = resp_json(&r);
	resp_free(&r);
	tok = strdup(jstr(v, "access_token"));
	yajl_tree_free(v);
	return tok;
}

START_TEST(oauth_login_picks_the_account)
{
	const char *args[] = { "--accounts", "2", "--scale", "500", NULL };
	struct mock m;
	struct resp r;
	char *code, *tok, path[128];
	yajl_val v;

	mock_must_start(&m, args);
	code = authorise_as(&m, "2", &r);
	ck_assert_ptr_nonnull(code);
	resp_free(&r);
	tok = exchange(&m, code);
	ck_assert_int_eq(self_of(&m, tok), self_of(&m, "demo-2"));
	/* /_mock/self reads an issued token too, without spending it */
	snprintf(path, sizeof path, "Freelancer-OAuth-V1: %s", tok);
	mock_call(&m, "GET", "/_mock/self", NULL, NULL, path, &r);
	v = resp_json(&r);
	ck_assert_int_eq(jint(v, "account"), 2);
	yajl_tree_free(v);
	resp_free(&r);
	free(tok);
	free(code);

	code = authorise_as(&m, NULL, &r);
	ck_assert_ptr_nonnull(code);
	resp_free(&r);
	tok = exchange(&m, code);
	ck_assert_int_eq(self_of(&m, tok), self_of(&m, "demo"));
	free(tok);
	free(code);

	code = authorise_as(&m, "3", &r);
	ck_assert_ptr_null(code);
	ck_assert_int_eq(r.status, 302);
	ck_assert_ptr_nonnull(strstr(r.location, "error=access_denied"));
	resp_free(&r);
	mock_stop(&m);
}
END_TEST

START_TEST(fifty_small_accounts)
{
	const char *args[] = { "--accounts", "50", "--scale", "1000", NULL };
	static long long ids[MAX_IDS];
	struct mock m;
	char tok[32], path[128];

	mock_must_start(&m, args);
	for (int k = 1; k <= 50; k++) {
		long long self;
		long n;

		if (k == 1)
			snprintf(tok, sizeof tok, "demo");
		else
			snprintf(tok, sizeof tok, "demo-%d", k);
		self = self_of(&m, tok);
		ck_assert_msg(self > 0, "account %d has no self", k);
		n = collect_as(&m, tok, "/api/messages/0.1/threads/?compact", "threads", ids, MAX_IDS);
		ck_assert_msg(n > 0, "account %d has no threads", k);
		snprintf(path, sizeof path, "/api/projects/0.1/projects/?compact&owners[]=%lld", self);
		n = collect_as(&m, tok, path, "projects", ids, MAX_IDS);
		ck_assert_msg(n > 0, "account %d has no projects", k);
		snprintf(path, sizeof path, "/api/projects/0.1/bids/?compact&bidders[]=%lld", self);
		n = collect_as(&m, tok, path, "bids", ids, MAX_IDS);
		ck_assert_msg(n > 0, "account %d has no bids", k);
	}
	mock_stop(&m);
}
END_TEST

/*
 * With one account the world is what it was before there could be more:
 * seed 9 at --scale 2000 dumps (every entity, id order) to these bytes, as
 * flmock made them before --accounts existed (length and FNV-1a 64).
 */
START_TEST(one_account_as_before)
{
	const char *args[] = { "--accounts", "1", "--seed", "9", "--scale", "2000", NULL };
	static const char *const entities[] = { "users", "projects", "bids", "milestones", "milestone_requests",
						"reviews", "threads", "messages" };
	uint64_t h = 0xcbf29ce484222325ull;
	size_t total = 0;
	struct mock m;
	struct resp r;
	yajl_val v;

	mock_must_start(&m, args);
	for (size_t e = 0; e < sizeof entities / sizeof *entities; e++) {
		char path[64];

		snprintf(path, sizeof path, "/_mock/dump?entity=%s", entities[e]);
		mock_get(&m, path, &r);
		ck_assert_int_eq(r.status, 200);
		for (size_t i = 0; i < r.len; i++)
			h = (h ^ (unsigned char)r.body[i]) * 0x100000001b3ull;
		total += r.len;
		resp_free(&r);
	}
	ck_assert_uint_eq(total, 1619428);
	ck_assert_msg(h == 0xd6cc461ef6f4c8d5ull, "the one-account world changed (FNV-1a %016llx)",
		      (unsigned long long)h);
	/* With one account there is no second token, and /_mock/self says so. */
	ck_assert_int_eq(self_of(&m, "demo-2"), 0);
	mock_get(&m, "/_mock/self", &r);
	v = resp_json(&r);
	ck_assert_int_eq(jint(v, "accounts"), 1);
	ck_assert_int_eq(jint(v, "account"), 1);
	yajl_tree_free(v);
	resp_free(&r);
	mock_stop(&m);
}
END_TEST

int main(void)
{
	const TTest *tests[] = {
		own_data_and_shared_market,
		rate_limits_per_account,
		mock_self_and_accounts,
		oauth_login_picks_the_account,
		fifty_small_accounts,
		one_account_as_before,
		NULL,
	};
	const struct check_case cases[] = {
		{ "accounts", tests, .timeout = 120 },
	};

	return mock_run_suite(check_suite("flmock_accounts", cases, sizeof cases / sizeof cases[0]));
}

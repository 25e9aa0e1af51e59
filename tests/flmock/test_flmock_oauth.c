/*
 * test_flmock_oauth.c — flmock's OAuth service, read from the outside: authorise
 * redirects with a code and the state; codes work once and only with their
 * redirect URI and PKCE verifier; refresh tokens rotate and work once;
 * invalid_client for a wrong secret; issued access tokens expire after
 * --token-requests requests or --token-ttl seconds (401 EXPIRED_TOKEN);
 * /_mock/oauth/revoke and /expire; --ignore-pkce.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check_main.h"
#include "mockutil.h"

#define REDIRECT "http://127.0.0.1:9/cb"
/* A verifier and its S256 challenge (Python: urlsafe_b64encode(sha256(v)).rstrip('=')). */
#define VERIFIER "dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define CHALLENGE "ngF5GsXcbwljx6u133FFr3Xht9xooA_DuaX_3QwODtc"

/* GET /oauth/authorise; the code from the redirect (caller frees), NULL if none. */
static char *authorise(struct mock *m, const char *extra, struct resp *r)
{
	char path[1024];
	const char *c;

	snprintf(path, sizeof path, "/oauth/authorise?response_type=code&client_id=flsync-demo&redirect_uri=%s"
		 "&state=st%%2B1&scope=basic%%206%s", "http%3A%2F%2F127.0.0.1%3A9%2Fcb", extra);
	mock_call(m, "GET", path, NULL, NULL, "", r);
	c = strstr(r->location, "code=");
	return c ? strndup(c + 5, strcspn(c + 5, "&")) : NULL;
}

/* POST /oauth/token with a form; the answer parsed (free with yajl_tree_free). */
static yajl_val token(struct mock *m, const char *form, long *status)
{
	struct resp r;
	yajl_val v;

	mock_call(m, "POST", "/oauth/token", form, "application/x-www-form-urlencoded", "", &r);
	*status = r.status;
	v = resp_json(&r);
	resp_free(&r);
	ck_assert_ptr_nonnull(v);
	return v;
}

static const char *error_of(yajl_val v)
{
	const char *e = jstr(v, "error");

	return e ? e : "(none)";
}

static long api_status(struct mock *m, const char *access, char *code, size_t n)
{
	char auth[256];
	struct resp r;
	long st;

	snprintf(auth, sizeof auth, "Freelancer-OAuth-V1: %s", access);
	mock_call(m, "GET", "/api/users/0.1/self/", NULL, NULL, auth, &r);
	st = r.status;
	if (code) {
		yajl_val v = resp_json(&r);

		snprintf(code, n, "%s", jstr(v, "error_code") ? jstr(v, "error_code") : "");
		yajl_tree_free(v);
	}
	resp_free(&r);
	return st;
}

START_TEST(code_grant_and_rotation)
{
	const char *args[] = { "--token-requests", "3", NULL };
	struct mock m;
	struct resp r;
	char form[1024], code_s[128], *access, *refresh, *code;
	long st;
	yajl_val v, w;

	mock_must_start(&m, args);
	code = authorise(&m, "&code_challenge=" CHALLENGE "&code_challenge_method=S256", &r);
	ck_assert_int_eq(r.status, 302);
	ck_assert_msg(strncmp(r.location, REDIRECT "?code=", strlen(REDIRECT) + 6) == 0, "%s", r.location);
	ck_assert_ptr_nonnull(strstr(r.location, "&state=st%2B1"));
	ck_assert_ptr_nonnull(code);
	resp_free(&r);

	/* A wrong verifier spends the code. */
	snprintf(form, sizeof form, "grant_type=authorization_code&code=%s&redirect_uri=%s&client_id=flsync-demo"
		 "&client_secret=demo-secret&code_verifier=%s", code, REDIRECT, VERIFIER "x");
	v = token(&m, form, &st);
	ck_assert_int_eq(st, 400);
	ck_assert_str_eq(error_of(v), "invalid_grant");
	yajl_tree_free(v);
	free(code);

	code = authorise(&m, "&code_challenge=" CHALLENGE "&code_challenge_method=S256", &r);
	resp_free(&r);
	snprintf(form, sizeof form, "grant_type=authorization_code&code=%s&redirect_uri=%s&client_id=flsync-demo"
		 "&client_secret=wrong&code_verifier=%s", code, REDIRECT, VERIFIER);
	v = token(&m, form, &st);
	ck_assert_int_eq(st, 401);
	ck_assert_str_eq(error_of(v), "invalid_client");
	yajl_tree_free(v);
	snprintf(form, sizeof form, "grant_type=authorization_code&code=%s&redirect_uri=%s&client_id=flsync-demo"
		 "&client_secret=demo-secret&code_verifier=%s", code, REDIRECT, VERIFIER);
	v = token(&m, form, &st);
	ck_assert_int_eq(st, 200);
	ck_assert_str_eq(jstr(v, "token_type"), "bearer");
	ck_assert_str_eq(jstr(v, "scope"), "basic 6");
	ck_assert_int_eq(jint(v, "expires_in"), 3600);
	access = strdup(jstr(v, "access_token"));
	refresh = strdup(jstr(v, "refresh_token"));
	yajl_tree_free(v);
	/* The code works once. */
	v = token(&m, form, &st);
	ck_assert_int_eq(st, 400);
	ck_assert_str_eq(error_of(v), "invalid_grant");
	yajl_tree_free(v);
	free(code);

	/* Three requests, then 401 EXPIRED_TOKEN. */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(api_status(&m, access, NULL, 0), 200);
	ck_assert_int_eq(api_status(&m, access, code_s, sizeof code_s), 401);
	ck_assert_str_eq(code_s, "AuthorisationExceptionCodes.EXPIRED_TOKEN");
	ck_assert_int_eq(api_status(&m, "made-up", code_s, sizeof code_s), 401);
	ck_assert_str_eq(code_s, "RestExceptionCodes.NOT_AUTHENTICATED");

	/* Refresh: a new pair; the old refresh token is spent. */
	snprintf(form, sizeof form, "grant_type=refresh_token&refresh_token=%s&client_id=flsync-demo&client_secret=demo-secret",
		 refresh);
	v = token(&m, form, &st);
	ck_assert_int_eq(st, 200);
	ck_assert_str_ne(jstr(v, "refresh_token"), refresh);
	ck_assert_int_eq(api_status(&m, jstr(v, "access_token"), NULL, 0), 200);
	w = token(&m, form, &st);
	ck_assert_int_eq(st, 400);
	ck_assert_str_eq(error_of(w), "invalid_grant");
	yajl_tree_free(w);
	/* Revoked: the new one is refused too. */
	mock_call(&m, "POST", "/_mock/oauth/revoke", "", NULL, "", &r);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	snprintf(form, sizeof form, "grant_type=refresh_token&refresh_token=%s&client_id=flsync-demo&client_secret=demo-secret",
		 jstr(v, "refresh_token"));
	w = token(&m, form, &st);
	ck_assert_int_eq(st, 400);
	ck_assert_str_eq(error_of(w), "invalid_grant");
	yajl_tree_free(w);
	yajl_tree_free(v);
	v = token(&m, "grant_type=password&client_id=flsync-demo&client_secret=demo-secret", &st);
	ck_assert_str_eq(error_of(v), "unsupported_grant_type");
	yajl_tree_free(v);

	mock_get(&m, "/_mock/oauth", &r);
	v = resp_json(&r);
	ck_assert_int_eq(jint(v, "authorised"), 2);
	ck_assert_int_eq(jint(v, "authorised_with_pkce"), 2);
	ck_assert_int_eq(jint(v, "authorization_code_grants"), 1);
	ck_assert_int_eq(jint(v, "refresh_token_grants"), 1);
	ck_assert_int_eq(jint(jget(v, "errors", NULL), "invalid_grant"), 4);
	ck_assert_int_eq(jint(jget(v, "errors", NULL), "invalid_client"), 1);
	yajl_tree_free(v);
	resp_free(&r);
	free(access);
	free(refresh);
	mock_stop(&m);
	ck_assert_int_eq(m.exit_status, 0);
}
END_TEST

START_TEST(authorise_refusals)
{
	const char *args[] = { "--redirect-uri", "http://127.0.0.1:8976/callback", NULL };
	struct mock m;
	struct resp r;

	mock_must_start(&m, args);
	/* The registered loopback redirect matches on any port, not on another path. */
	mock_call(&m, "GET", "/oauth/authorise?response_type=code&client_id=flsync-demo"
		  "&redirect_uri=http%3A%2F%2F127.0.0.1%3A5555%2Fcallback&state=s", NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 302);
	resp_free(&r);
	mock_call(&m, "GET", "/oauth/authorise?response_type=code&client_id=flsync-demo"
		  "&redirect_uri=http%3A%2F%2F127.0.0.1%3A5555%2Fother&state=s", NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(r.location, "");
	resp_free(&r);
	mock_call(&m, "GET", "/oauth/authorise?response_type=code&client_id=nobody"
		  "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8976%2Fcallback&state=s", NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(r.location, "");
	resp_free(&r);
	mock_call(&m, "GET", "/oauth/authorise?response_type=token&client_id=flsync-demo"
		  "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8976%2Fcallback&state=s", NULL, NULL, "", &r);
	ck_assert_int_eq(r.status, 302);
	ck_assert_ptr_nonnull(strstr(r.location, "error=unsupported_response_type&state=s"));
	resp_free(&r);
	mock_stop(&m);
}
END_TEST

START_TEST(ttl_and_ignored_pkce)
{
	const char *args[] = { "--token-ttl", "1", "--ignore-pkce", "--client-secret", "", NULL };
	struct mock m;
	struct resp r;
	char form[1024], code_s[128], *code;
	long st;
	yajl_val v;

	mock_must_start(&m, args);
	code = authorise(&m, "&code_challenge=" CHALLENGE "&code_challenge_method=S256", &r);
	resp_free(&r);
	/* A public client, no verifier: the service ignores PKCE. */
	snprintf(form, sizeof form, "grant_type=authorization_code&code=%s&redirect_uri=%s&client_id=flsync-demo",
		 code, REDIRECT);
	v = token(&m, form, &st);
	ck_assert_int_eq(st, 200);
	ck_assert_int_eq(jint(v, "expires_in"), 1);
	ck_assert_int_eq(api_status(&m, jstr(v, "access_token"), NULL, 0), 200);
	sleep(2);
	ck_assert_int_eq(api_status(&m, jstr(v, "access_token"), code_s, sizeof code_s), 401);
	ck_assert_str_eq(code_s, "AuthorisationExceptionCodes.EXPIRED_TOKEN");
	yajl_tree_free(v);
	free(code);
	mock_stop(&m);
}
END_TEST

START_TEST(expire_control)
{
	struct mock m;
	struct resp r;
	char form[1024], *code;
	long st;
	yajl_val v;

	mock_must_start(&m, NULL);
	code = authorise(&m, "", &r);
	resp_free(&r);
	snprintf(form, sizeof form, "grant_type=authorization_code&code=%s&redirect_uri=%s&client_id=flsync-demo"
		 "&client_secret=demo-secret", code, REDIRECT);
	v = token(&m, form, &st);
	ck_assert_int_eq(st, 200);
	ck_assert_int_eq(api_status(&m, jstr(v, "access_token"), NULL, 0), 200);
	mock_call(&m, "POST", "/_mock/oauth/expire", "", NULL, "", &r);
	resp_free(&r);
	ck_assert_int_eq(api_status(&m, jstr(v, "access_token"), NULL, 0), 401);
	/* The --token T credential never expires. */
	ck_assert_int_eq(api_status(&m, "demo", NULL, 0), 200);
	yajl_tree_free(v);
	free(code);
	mock_stop(&m);
}
END_TEST

int main(void)
{
	const TTest *tests[] = {
		code_grant_and_rotation,
		authorise_refusals,
		ttl_and_ignored_pkce,
		expire_control,
		NULL,
	};
	const struct check_case cases[] = {
		{ "oauth", tests, .timeout = 60 },
	};

	return mock_run_suite(check_suite("flmock_oauth", cases, sizeof cases / sizeof cases[0]));
}

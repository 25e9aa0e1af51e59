/*
 * test_token.c — token files and the OAuth exchanges, unit by unit: bare
 * and JSON records and every way a file can be wrong; atomic writes with
 * mode 0600 and nothing left behind; unsafe modes refused; the PKCE S256
 * challenge; redirects parsed; the token
 * endpoint's answers (tokens, invalid_grant, HTML 500, non-JSON) against a
 * scripted server; and a token source's refresh: rotation kept in the
 * file, another process's fresh token taken without a request, and
 * invalid_grant ending the sign-in for every reader of the file.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>

#include "../check_main.h"
#include "auth_oauth.h"
#include "auth_token.h"
#include "testutil.h"

static char *dir;

static void setup(void)
{
	dir = tu_tmpdir();
	ck_assert_ptr_nonnull(dir);
}

static void teardown(void)
{
	tu_rmtree(dir);
	free(dir);
	dir = NULL;
}

static void put(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static int parse(const char *text, struct token_record *r, struct fl_error *err)
{
	return token_record_parse(text, strlen(text), "test", r, err);
}

START_TEST(bare_token)
{
	struct token_record r;
	struct fl_error err = { 0 };

	ck_assert_int_eq(parse("  abc.def-123  \r\nsecond line\n", &r, &err), FL_OK);
	ck_assert_str_eq(r.access_token, "abc.def-123");
	ck_assert(r.bare);
	ck_assert_ptr_null(r.refresh_token);
	token_record_free(&r);
	ck_assert_int_eq(parse(" \n\t\n", &r, &err), FL_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "empty"));
}
END_TEST

START_TEST(json_record)
{
	struct token_record r, back;
	struct fl_error err = { 0 };
	char *text;

	ck_assert_int_eq(parse("{\"version\":1,\"access_token\":\"AT\",\"refresh_token\":\"RT\",\"expires_at\":1800000000,"
			       "\"obtained_at\":1799996400,\"scope\":\"basic 6\",\"token_url\":\"https://a/oauth/token\","
			       "\"client_id\":\"c\",\"client_secret_file\":\"/s\",\"user_id\":42,\"username\":\"u\","
			       "\"future_field\":[1,2]}", &r, &err), FL_OK);
	ck_assert(!r.bare);
	ck_assert_str_eq(r.access_token, "AT");
	ck_assert_str_eq(r.refresh_token, "RT");
	ck_assert_int_eq(r.expires_at, 1800000000);
	ck_assert_int_eq(r.user_id, 42);
	ck_assert_str_eq(r.client_secret_file, "/s");
	ck_assert_int_eq(token_record_format(&r, &text, &err), FL_OK);
	ck_assert_int_eq(parse(text, &back, &err), FL_OK);
	ck_assert_str_eq(back.access_token, "AT");
	ck_assert_str_eq(back.scope, "basic 6");
	ck_assert_int_eq(back.obtained_at, 1799996400);
	ck_assert_ptr_null(strstr(text, "future_field"));
	free(text);
	token_record_free(&back);
	token_record_free(&r);
}
END_TEST

START_TEST(json_refused)
{
	static const struct {
		const char *text, *says;
	} cases[] = {
		{ "{\"refresh_token\":\"RT\"}", "no access_token" },
		{ "{\"access_token\":\"\"}", "no access_token" },
		{ "{\"access_token\":\"AT\",\"refresh_token\":\"RT\",\"client_id\":\"c\"}", "token_url" },
		{ "{\"access_token\":\"AT\",\"refresh_token\":\"RT\",\"token_url\":\"u\"}", "client_id" },
		{ "{\"access_token\":5}", "must be a string" },
		{ "{\"access_token\":\"AT\",\"expires_at\":\"soon\"}", "must be an integer" },
		{ "{\"access_token\":\"AT\",\"version\":2}", "newer" },
		{ "{\"access_token\":\"A\\nT\"}", "line break" },
		{ "{\"access_token\":\"AT\"", "not a JSON token record" },
		{ "{\"access_token\":\"SECRETVALUE\",", "not a JSON token record" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct token_record r;
		struct fl_error err = { 0 };

		ck_assert_msg(parse(cases[i].text, &r, &err) == FL_ERR_INVALID, "case %zu", i);
		ck_assert_msg(strstr(err.msg, cases[i].says), "case %zu: %s", i, err.msg);
		ck_assert_msg(!strstr(err.msg, "SECRETVALUE"), "case %zu repeats the token", i);
		ck_assert_ptr_null(r.access_token);
	}
}
END_TEST

START_TEST(file_write_read)
{
	char *path = tu_path(dir, "token.json");
	struct token_record r = { .access_token = (char *)"AT1", .refresh_token = (char *)"RT1",
				  .token_url = (char *)"http://x/oauth/token", .client_id = (char *)"c" };
	struct token_record back;
	struct fl_error err = { 0 };
	struct stat st;
	struct dirent *de;
	DIR *d;
	int entries = 0;
	bool missing;

	ck_assert_int_eq(token_file_read(path, &back, &missing, &err), FL_ERR_IO);
	ck_assert(missing);
	put(path, "old\n", 0644);   /* replaced, mode and all */
	ck_assert_int_eq(token_file_write(path, &r, &err), FL_OK);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(token_file_read(path, &back, NULL, &err), FL_OK);
	ck_assert_str_eq(back.access_token, "AT1");
	ck_assert_str_eq(back.refresh_token, "RT1");
	token_record_free(&back);
	d = opendir(dir);
	while ((de = readdir(d)))
		entries += de->d_name[0] != '.';
	closedir(d);
	ck_assert_int_eq(entries, 1); /* no temporary file left */
	free(path);
}
END_TEST

START_TEST(unsafe_modes)
{
	static const mode_t modes[] = { 0644, 0640, 0604, 0660, 0602 };
	char *path = tu_path(dir, "token");
	struct token_record r;
	struct fl_error err = { 0 };

	for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
		put(path, "tok\n", modes[i]);
		ck_assert_int_eq(token_file_read(path, &r, NULL, &err), FL_ERR_INVALID);
		ck_assert_msg(strstr(err.msg, "readable by others") && strstr(err.msg, "chmod 600"), "%s", err.msg);
	}
	put(path, "tok\n", 0400);
	ck_assert_int_eq(token_file_read(path, &r, NULL, &err), FL_OK);
	token_record_free(&r);
	free(path);
}
END_TEST

START_TEST(pkce_vector)
{
	char out[64];
	struct fl_error err = { 0 };
	char rnd[65];

	/*
	 * An independent reading: Python's
	 * base64.urlsafe_b64encode(hashlib.sha256(v).digest()).rstrip(b'=').
	 */
	ck_assert_int_eq(oauth_pkce_challenge("dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk", out, &err), FL_OK);
	ck_assert_str_eq(out, "ngF5GsXcbwljx6u133FFr3Xht9xooA_DuaX_3QwODtc");
	ck_assert_int_eq(oauth_pkce_challenge("a", out, &err), FL_OK);
	ck_assert_str_eq(out, "ypeBEsobvcr6wjGzmiPcTaeG7_gUfE5yuYB3ha_uSLs");
	ck_assert_int_eq(oauth_random(rnd, 64, &err), FL_OK);
	ck_assert_uint_eq(strlen(rnd), 64);
	ck_assert_uint_eq(strspn(rnd, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-."), 64);
}
END_TEST

START_TEST(reply_parse)
{
	char *code, *state, *error, *desc;
	struct fl_error err = { 0 };

	ck_assert_int_eq(oauth_reply_parse("http://127.0.0.1:8976/callback?code=a%2Fb+c&state=S1#frag", &code,
					   &state, &error, &desc, &err), FL_OK);
	ck_assert_str_eq(code, "a/b c");
	ck_assert_str_eq(state, "S1");
	ck_assert_ptr_null(error);
	free(code);
	free(state);
	ck_assert_int_eq(oauth_reply_parse("  ?state=S2&code=C2\n", &code, &state, &error, &desc, &err), FL_OK);
	ck_assert_str_eq(code, "C2");
	ck_assert_str_eq(state, "S2");
	free(code);
	free(state);
	ck_assert_int_eq(oauth_reply_parse("bare-code-123", &code, &state, &error, &desc, &err), FL_OK);
	ck_assert_str_eq(code, "bare-code-123");
	ck_assert_ptr_null(state);
	free(code);
	ck_assert_int_eq(oauth_reply_parse("http://h/cb?error=access_denied&error_description=no+thanks&state=S",
					   &code, &state, &error, &desc, &err), FL_OK);
	ck_assert_ptr_null(code);
	ck_assert_str_eq(error, "access_denied");
	ck_assert_str_eq(desc, "no thanks");
	free(state);
	free(error);
	free(desc);
	ck_assert_int_eq(oauth_reply_parse("http://h/cb?state=S", &code, &state, &error, &desc, &err), FL_ERR_INVALID);
	ck_assert_int_eq(oauth_reply_parse("   ", &code, &state, &error, &desc, &err), FL_ERR_INVALID);
}
END_TEST

START_TEST(token_endpoint)
{
	struct tu_server *srv = tu_server_start();
	struct oauth_tokens t;
	struct oauth_error oe;
	struct fl_error err = { 0 };
	char url[256];
	struct tu_reply ok = { .status = 200, .body = "{\"access_token\":\"NEWAT\",\"token_type\":\"bearer\","
						      "\"expires_in\":\"3600\",\"refresh_token\":\"NEWRT\",\"scope\":\"basic\"}" };
	struct tu_reply grant = { .status = 400, .body = "{\"error\":\"invalid_grant\",\"error_description\":\"used\"}" };
	struct tu_reply html = { .status = 500, .body = "<html>down</html>", .content_type = "text/html" };
	struct tu_reply junk = { .status = 200, .body = "not json" };
	struct tu_reply empty = { .status = 200, .body = "{\"token_type\":\"bearer\"}" };

	snprintf(url, sizeof url, "%s/oauth/token", tu_server_url(srv));
	tu_server_reply(srv, &ok);
	ck_assert_int_eq(oauth_token_request(url, "grant_type=refresh_token&refresh_token=OLD", &t, &oe, &err), FL_OK);
	ck_assert_str_eq(t.access_token, "NEWAT");
	ck_assert_str_eq(t.refresh_token, "NEWRT");
	ck_assert_int_eq(t.expires_in, 3600);
	ck_assert_str_eq(tu_server_last(srv).method, "POST");
	ck_assert_str_eq(tu_server_last(srv).content_type, "application/x-www-form-urlencoded");
	ck_assert_str_eq(tu_server_last(srv).body, "grant_type=refresh_token&refresh_token=OLD");
	oauth_tokens_free(&t);

	tu_server_reply(srv, &grant);
	ck_assert_int_eq(oauth_token_request(url, "x=1", &t, &oe, &err), FL_ERR_API);
	ck_assert_str_eq(oe.error, "invalid_grant");
	ck_assert_str_eq(oe.description, "used");
	ck_assert_int_eq(oe.status, 400);
	tu_server_reply(srv, &html);
	ck_assert_int_eq(oauth_token_request(url, "x=1", &t, &oe, &err), FL_ERR_HTTP);
	ck_assert_ptr_nonnull(strstr(err.msg, "HTTP 500"));
	tu_server_reply(srv, &junk);
	ck_assert_int_eq(oauth_token_request(url, "x=1", &t, &oe, &err), FL_ERR_PARSE);
	tu_server_reply(srv, &empty);
	ck_assert_int_eq(oauth_token_request(url, "x=1", &t, &oe, &err), FL_ERR_PARSE);
	ck_assert_int_eq(oauth_token_request("ftp://x/", "x=1", &t, &oe, &err), FL_ERR_MISUSE);
	ck_assert_int_eq(oauth_token_request("http://127.0.0.1:1/oauth/token", "x=1", &t, &oe, &err), FL_ERR_NETWORK);
	tu_server_stop(srv);
}
END_TEST

/* A record refreshable at srv, its access token AT0 / refresh token RT0. */
static char *refreshable_file(struct tu_server *srv, const char *access, int64_t expires_at)
{
	char *path = tu_path(dir, "token.json"), url[256];
	struct token_record r = { .access_token = (char *)access, .refresh_token = (char *)"RT0",
				  .client_id = (char *)"c", .expires_at = expires_at, .obtained_at = 1 };
	struct fl_error err = { 0 };

	snprintf(url, sizeof url, "%s/oauth/token", tu_server_url(srv));
	r.token_url = url;
	ck_assert_int_eq(token_file_write(path, &r, &err), FL_OK);
	return path;
}

START_TEST(source_refresh)
{
	struct tu_server *srv = tu_server_start();
	struct tu_reply ok = { .status = 200, .body = "{\"access_token\":\"AT1\",\"expires_in\":3600,\"refresh_token\":\"RT1\"}" };
	char *path = refreshable_file(srv, "AT0", 0);
	struct token_source *ts;
	struct token_record r;
	struct fl_error err = { 0 };
	uint64_t gen0, gen1;

	tu_server_reply(srv, &ok);
	ck_assert_int_eq(token_source_open_file(path, &ts, &err), FL_OK);
	ck_assert(token_source_refreshable(ts));
	ck_assert_str_eq(token_source_current(ts, &gen0), "AT0");
	ck_assert_uint_eq(tu_server_requests(srv), 0); /* no expiry known: no refresh */
	ck_assert_int_eq(token_source_refresh(ts, true, &err), FL_OK);
	ck_assert_str_eq(token_source_current(ts, &gen1), "AT1");
	ck_assert_uint_ne(gen0, gen1);
	ck_assert_ptr_nonnull(strstr(tu_server_last(srv).body, "refresh_token=RT0"));
	ck_assert_int_eq(token_file_read(path, &r, NULL, &err), FL_OK);
	ck_assert_str_eq(r.access_token, "AT1");
	ck_assert_str_eq(r.refresh_token, "RT1"); /* rotated, and kept */
	ck_assert_int_gt(r.expires_at, 0);
	token_record_free(&r);
	token_source_free(ts);
	tu_server_stop(srv);
	free(path);
}
END_TEST

START_TEST(source_adopts_other_refresh)
{
	struct tu_server *srv = tu_server_start();
	char *path = refreshable_file(srv, "AT0", 0);
	struct token_source *ts;
	struct fl_error err = { 0 };
	uint64_t gen;
	unsigned refreshed, adopted;
	char *path2;

	ck_assert_int_eq(token_source_open_file(path, &ts, &err), FL_OK);
	/* Another process refreshes meanwhile. */
	path2 = refreshable_file(srv, "AT-OTHER", 0);
	ck_assert_int_eq(token_source_refresh(ts, true, &err), FL_OK);
	ck_assert_str_eq(token_source_current(ts, &gen), "AT-OTHER");
	ck_assert_uint_eq(tu_server_requests(srv), 0);
	token_source_counts(ts, &refreshed, &adopted);
	ck_assert_uint_eq(refreshed, 0);
	ck_assert_uint_eq(adopted, 1);
	token_source_free(ts);
	tu_server_stop(srv);
	free(path);
	free(path2);
}
END_TEST

START_TEST(source_due_refreshes_first)
{
	struct tu_server *srv = tu_server_start();
	struct tu_reply ok = { .status = 200, .body = "{\"access_token\":\"AT2\",\"expires_in\":60}" };
	char *path = refreshable_file(srv, "AT0", 2); /* long expired */
	struct token_source *ts;
	struct token_record r;
	struct fl_error err = { 0 };
	uint64_t gen;

	tu_server_reply(srv, &ok);
	ck_assert_int_eq(token_source_open_file(path, &ts, &err), FL_OK);
	ck_assert_str_eq(token_source_current(ts, &gen), "AT2");
	ck_assert_uint_eq(tu_server_requests(srv), 1);
	ck_assert_int_eq(token_file_read(path, &r, NULL, &err), FL_OK);
	ck_assert_str_eq(r.refresh_token, "RT0"); /* not rotated: the old one stays */
	token_record_free(&r);
	token_source_free(ts);
	tu_server_stop(srv);
	free(path);
}
END_TEST

START_TEST(source_invalid_grant)
{
	struct tu_server *srv = tu_server_start();
	struct tu_reply grant = { .status = 400, .body = "{\"error\":\"invalid_grant\",\"error_description\":\"revoked\"}" };
	char *path = refreshable_file(srv, "AT0", 0);
	struct token_source *ts, *ts2;
	struct token_record r;
	struct fl_error err = { 0 };

	tu_server_reply(srv, &grant);
	ck_assert_int_eq(token_source_open_file(path, &ts, &err), FL_OK);
	ck_assert_int_eq(token_source_refresh(ts, true, &err), FL_ERR_API);
	ck_assert_ptr_nonnull(token_source_needs_login(ts));
	ck_assert_ptr_nonnull(strstr(token_source_needs_login(ts), "flsync auth login --token-file"));
	ck_assert_ptr_nonnull(strstr(err.msg, "invalid_grant: revoked"));
	ck_assert(!token_source_refreshable(ts));
	ck_assert_int_eq(token_source_refresh(ts, true, &err), FL_ERR_STATE); /* never asks again */
	ck_assert_uint_eq(tu_server_requests(srv), 1);
	ck_assert_int_eq(token_file_read(path, &r, NULL, &err), FL_OK);
	ck_assert_ptr_nonnull(r.needs_login);
	token_record_free(&r);
	/* Every other reader of the file learns it too. */
	ck_assert_int_eq(token_source_open_file(path, &ts2, &err), FL_OK);
	ck_assert_ptr_nonnull(token_source_needs_login(ts2));
	token_source_free(ts2);
	token_source_free(ts);
	tu_server_stop(srv);
	free(path);
}
END_TEST

int main(void)
{
	const TTest *tests[] = {
		bare_token,
		json_record,
		json_refused,
		file_write_read,
		unsafe_modes,
		pkce_vector,
		reply_parse,
		token_endpoint,
		source_refresh,
		source_adopts_other_refresh,
		source_due_refreshes_first,
		source_invalid_grant,
		NULL,
	};
	const struct check_case cases[] = {
		{ "token", tests, .setup = setup, .teardown = teardown, .timeout = 60 },
	};

	return check_run(check_suite("token", cases, sizeof cases / sizeof cases[0]));
}

/*
 * test_http.c — the transport and an API call's verdict, against a scripted
 * loopback server: headers sent (auth, User-Agent, gzip), keep-alive, the
 * server's Date and rate-limit headers, bodies streamed to the parser, and
 * every failure: error envelopes, 404, 429, HTML 5xx, malformed and
 * truncated bodies, stalls, refused connections, oversize bodies.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "testutil.h"

#define TOKEN "s3cret-token-do-not-log"

static struct tu_server *srv;
static struct http_client *http;

static void setup(void)
{
	struct http_config cfg = { 0 };
	struct fl_error err = { 0 };

	srv = tu_server_start();
	cfg.base_url = tu_server_url(srv);
	cfg.token = TOKEN;
	cfg.timeout_ms = 2000;
	cfg.max_body = 1 << 20;
	ck_assert_int_eq(http_client_new(&cfg, &http, &err), FL_OK);
}

static void teardown(void)
{
	http_client_free(http);
	tu_server_stop(srv);
}

static int count_items(void *ctx, const struct json_item *it)
{
	(void)it;
	(*(int *)ctx)++;
	return FL_OK;
}

/* One GET of the "projects" collection; returns the code, fills res/err/items. */
static int get(const char *path, struct api_result *res, struct fl_error *err, int *items)
{
	*items = 0;
	return api_call(http, "GET", path, NULL, NULL, 0, "projects", NULL, count_items, items,
			res, err);
}

static void reply(int status, const char *body, const char *headers)
{
	struct tu_reply r = { .status = status, .body = body, .headers = headers };

	tu_server_reply(srv, &r);
}

static void assert_no_token(const char *msg)
{
	ck_assert_msg(!strstr(msg, TOKEN), "the token leaked into a message: %s", msg);
}

START_TEST(success_headers_keepalive)
{
	struct api_result res;
	struct fl_error err = { 0 };
	struct tu_request req;
	struct buf q;
	int items;

	reply(200, "{\"status\":\"success\",\"result\":{\"projects\":[{\"id\":1},{\"id\":2}],\"total_count\":2}}",
	      "Date: Thu, 01 Jan 2026 00:00:10 GMT\nRateLimit-Limit: 50, 50;window=60, 1000;window=3600\n"
	      "RateLimit-Remaining: 45\n");
	buf_init(&q, 0);
	buf_puts(&q, "/api/projects/0.1/projects/");
	ck_assert_int_eq(http_query_add(&q, "owners[]", "42"), FL_OK);
	ck_assert_int_eq(http_query_add(&q, "query", "logo & web design"), FL_OK);
	ck_assert_int_eq(http_query_add_int(&q, "from_time", 1700000000), FL_OK);
	ck_assert_int_eq(get(q.data, &res, &err, &items), FL_OK);
	ck_assert_int_eq(items, 2);
	ck_assert_int_eq(res.http.status, 200);
	ck_assert_int_eq(res.http.date, 1767225610);
	ck_assert_int_eq(res.http.ratelimit_limit, 50);
	ck_assert_int_eq(res.http.ratelimit_remaining, 45);
	ck_assert_str_eq(res.http.ratelimit_policy, "50, 50;window=60, 1000;window=3600");
	ck_assert_int_eq(res.env.total_count, 2);

	req = tu_server_last(srv);
	ck_assert_str_eq(req.method, "GET");
	ck_assert_str_eq(req.auth, TOKEN);
	ck_assert_str_eq(req.user_agent, "flsync/" FL_VERSION);
	ck_assert_ptr_nonnull(strstr(req.accept_encoding, "gzip"));
	ck_assert_ptr_nonnull(strstr(req.url, "owners[]=42"));
	ck_assert_ptr_nonnull(strstr(req.url, "query=logo & web design"));
	ck_assert_ptr_nonnull(strstr(req.url, "from_time=1700000000"));

	/* The same connection serves the next requests. */
	ck_assert_int_eq(get(q.data, &res, &err, &items), FL_OK);
	ck_assert_int_eq(get(q.data, &res, &err, &items), FL_OK);
	ck_assert_uint_eq(tu_server_requests(srv), 3);
	ck_assert_uint_eq(tu_server_connections(srv), 1);
	ck_assert_uint_eq(http_request_count(http), 3);
	buf_free(&q);
}
END_TEST

START_TEST(gzip_body)
{
	struct api_result res;
	struct fl_error err = { 0 };
	char *path = tu_path(getenv("FL_TESTDATA") ? getenv("FL_TESTDATA") : "tests/data",
			     "projects_page.json.gz");
	size_t len;
	char *gz = tu_read_file(path, &len);
	struct tu_reply r = { .status = 200, .body = gz, .body_len = len, .content_encoding = "gzip" };
	int items;

	ck_assert_ptr_nonnull(gz);
	tu_server_reply(srv, &r);
	ck_assert_int_eq(get("/api/projects/0.1/projects/", &res, &err, &items), FL_OK);
	ck_assert_int_eq(items, 100);
	ck_assert_str_eq(res.env.request_id, "gz");
	ck_assert_uint_gt(res.http.body_bytes, len);
	free(gz);
	free(path);
}
END_TEST

START_TEST(writes_send_bodies)
{
	struct api_result res;
	struct fl_error err = { 0 };
	struct tu_request req;
	const char *body = "{\"project_id\":4909198,\"bidder_id\":8243592,\"amount\":100,\"period\":7}";

	reply(200, "{\"status\":\"success\",\"result\":{\"id\":39341795,\"amount\":100}}", NULL);
	ck_assert_int_eq(api_call(http, "POST", "/api/projects/0.1/bids/", "application/json", body,
				  strlen(body), NULL, NULL, NULL, NULL, &res, &err), FL_OK);
	req = tu_server_last(srv);
	ck_assert_str_eq(req.method, "POST");
	ck_assert_str_eq(req.content_type, "application/json");
	ck_assert_str_eq(req.body, body);

	reply(200, "{\"status\":\"success\"}", NULL);
	ck_assert_int_eq(api_call(http, "PUT", "/api/projects/0.1/bids/39341795/?action=award", NULL,
				  NULL, 0, NULL, NULL, NULL, NULL, &res, &err), FL_OK);
	req = tu_server_last(srv);
	ck_assert_str_eq(req.method, "PUT");
	ck_assert_ptr_nonnull(strstr(req.url, "action=award"));

	/* A GET after a POST is a GET again. */
	reply(200, "{\"status\":\"success\",\"result\":{\"projects\":[]}}", NULL);
	{
		int items;
		ck_assert_int_eq(get("/api/projects/0.1/projects/", &res, &err, &items), FL_OK);
	}
	ck_assert_str_eq(tu_server_last(srv).method, "GET");
}
END_TEST

START_TEST(error_envelopes)
{
	struct api_result res;
	struct fl_error err = { 0 };
	int items;

	reply(409, "{\"status\":\"error\",\"message\":\"You have already placed a bid\","
		   "\"error_code\":\"ProjectExceptionCodes.DUPLICATE_BID\",\"request_id\":\"r9\"}", NULL);
	ck_assert_int_eq(get("/api/projects/0.1/bids/", &res, &err, &items), FL_ERR_API);
	ck_assert_int_eq(res.http.status, 409);
	ck_assert_str_eq(res.env.error_code, "ProjectExceptionCodes.DUPLICATE_BID");
	ck_assert_str_eq(res.env.message, "You have already placed a bid");
	ck_assert_ptr_nonnull(strstr(err.msg, "HTTP 409"));
	ck_assert_ptr_nonnull(strstr(err.msg, "DUPLICATE_BID"));
	ck_assert(!api_transient(FL_ERR_API, &res));

	reply(404, "{\"status\":\"error\",\"message\":\"Object doesn't exist\","
		   "\"error_code\":\"RestExceptionCodes.NOT_FOUND\"}", NULL);
	ck_assert_int_eq(get("/api/projects/0.1/projects/1/", &res, &err, &items), FL_ERR_NOT_FOUND);

	reply(401, "{\"status\":\"error\",\"message\":\"You must be authenticated\","
		   "\"error_code\":\"RestExceptionCodes.NOT_AUTHENTICATED\"}", NULL);
	ck_assert_int_eq(get("/api/users/0.1/self/", &res, &err, &items), FL_ERR_API);
	ck_assert_int_eq(res.http.status, 401);
	assert_no_token(err.msg);

	reply(429, "{\"status\":\"error\",\"message\":\"Too many requests\","
		   "\"error_code\":\"AuthorisationExceptionCodes.RATE_LIMITED\"}",
	      "Retry-After: 7\nRateLimit-Remaining: 0\n");
	ck_assert_int_eq(get("/api/projects/0.1/projects/active/", &res, &err, &items),
			 FL_ERR_RATE_LIMITED);
	ck_assert_int_eq(res.http.retry_after, 7);
	ck_assert_int_eq(res.http.ratelimit_remaining, 0);
	ck_assert(api_transient(FL_ERR_RATE_LIMITED, &res));

	/* Items of an error response are never handed over. */
	reply(500, "{\"status\":\"error\",\"result\":{\"projects\":[{\"id\":1}]},\"message\":\"boom\"}", NULL);
	ck_assert_int_eq(get("/api/projects/0.1/projects/", &res, &err, &items), FL_ERR_API);
	ck_assert_int_eq(items, 0);
	ck_assert(api_transient(FL_ERR_API, &res));

	/* A 200 whose envelope says error is an error. */
	reply(200, "{\"status\":\"error\",\"message\":\"odd\",\"error_code\":\"X.Y\"}", NULL);
	ck_assert_int_eq(get("/api/projects/0.1/projects/", &res, &err, &items), FL_ERR_API);
}
END_TEST

START_TEST(non_json_bodies)
{
	struct api_result res;
	struct fl_error err = { 0 };
	int items;

	reply(503, "<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>"
		   "<body>The server is temporarily unable to service your request.</body></html>", NULL);
	ck_assert_int_eq(get("/api/projects/0.1/projects/", &res, &err, &items), FL_ERR_HTTP);
	ck_assert_int_eq(res.http.status, 503);
	ck_assert_ptr_nonnull(strstr(err.msg, "HTTP 503"));
	ck_assert_ptr_nonnull(strstr(err.msg, "HTML"));
	ck_assert(api_transient(FL_ERR_HTTP, &res));

	reply(200, "{\"status\":\"success\",\"result\":{\"projects\":[{\"id\":1},{\"id\":2,]}}", NULL);
	ck_assert_int_eq(get("/api/projects/0.1/projects/", &res, &err, &items), FL_ERR_PARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "malformed JSON"));
	ck_assert(api_transient(FL_ERR_PARSE, &res));

	reply(200, "", NULL);
	ck_assert_int_eq(get("/api/projects/0.1/projects/", &res, &err, &items), FL_ERR_PARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "empty"));

	reply(502, "", NULL);
	ck_assert_int_eq(get("/api/projects/0.1/projects/", &res, &err, &items), FL_ERR_HTTP);
	ck_assert_ptr_nonnull(strstr(err.msg, "HTTP 502"));
}
END_TEST

START_TEST(truncated_body)
{
	static const char body[] =
		"{\"status\":\"success\",\"result\":{\"projects\":[{\"id\":1},{\"id\":2},{\"id\":3}]}}";
	struct tu_reply r = { .status = 200, .body = body, .truncate_at = 40 };
	struct api_result res;
	struct fl_error err = { 0 };
	int items, rc;

	tu_server_reply(srv, &r);
	rc = get("/api/projects/0.1/projects/", &res, &err, &items);
	ck_assert_msg(rc == FL_ERR_NETWORK || rc == FL_ERR_PARSE, "rc %d: %s", rc, err.msg);
	ck_assert(api_transient(rc, &res));
	ck_assert_ptr_nonnull(strstr(err.msg, "/api/projects/0.1/projects/"));

	/* The client recovers on a new connection. */
	reply(200, body, NULL);
	ck_assert_int_eq(get("/api/projects/0.1/projects/", &res, &err, &items), FL_OK);
	ck_assert_int_eq(items, 3);
}
END_TEST

START_TEST(stall_times_out)
{
	struct tu_reply r = { .status = 200, .body = "{\"status\":\"success\"}", .delay_ms = 3000 };
	struct api_result res;
	struct fl_error err = { 0 };
	int items;

	tu_server_reply(srv, &r);
	ck_assert_int_eq(get("/api/projects/0.1/projects/", &res, &err, &items), FL_ERR_TIMEOUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "timed out"));
	ck_assert(api_transient(FL_ERR_TIMEOUT, &res));
}
END_TEST

START_TEST(body_cap)
{
	size_t n = 2 << 20;
	char *big = malloc(n + 64);
	struct tu_reply r = { .status = 200 };
	struct api_result res;
	struct fl_error err = { 0 };
	int items;

	memset(big, ' ', n + 64);
	memcpy(big, "{\"status\":\"success\"", 19);
	memcpy(big + n + 62, "}", 2);
	r.body = big;
	r.body_len = n + 63;
	tu_server_reply(srv, &r);
	ck_assert_int_eq(get("/api/projects/0.1/projects/", &res, &err, &items), FL_ERR_TOO_BIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "larger than"));
	free(big);
}
END_TEST

START_TEST(connection_refused)
{
	struct http_config cfg = { .base_url = "http://127.0.0.1:1", .token = TOKEN };
	struct http_client *c;
	struct fl_error err = { 0 };
	struct api_result res;

	ck_assert_int_eq(http_client_new(&cfg, &c, &err), FL_OK);
	ck_assert_int_eq(api_call(c, "GET", "/api/users/0.1/self/", NULL, NULL, 0, NULL, NULL, NULL,
				  NULL, &res, &err), FL_ERR_NETWORK);
	ck_assert_ptr_nonnull(strstr(err.msg, "/api/users/0.1/self/"));
	assert_no_token(err.msg);
	ck_assert(api_transient(FL_ERR_NETWORK, &res));
	http_client_free(c);

	/* Bad configurations are refused up front. */
	cfg.base_url = "ftp://example.com";
	ck_assert_int_eq(http_client_new(&cfg, &c, &err), FL_ERR_MISUSE);
	cfg.base_url = "http://127.0.0.1:1";
	cfg.token = "bad\r\nX-Injected: 1";
	ck_assert_int_eq(http_client_new(&cfg, &c, &err), FL_ERR_MISUSE);
	assert_no_token(err.msg);
}
END_TEST

START_TEST(developer_auth_header)
{
	struct http_config cfg = { 0 };
	struct http_client *c;
	struct fl_error err = { 0 };
	struct api_result res;

	/* The test server records only the OAuth header: it must be absent here. */
	cfg.base_url = tu_server_url(srv);
	cfg.token = "1234;abcdef";
	cfg.auth = HTTP_AUTH_DEVELOPER;
	ck_assert_int_eq(http_client_new(&cfg, &c, &err), FL_OK);
	reply(200, "{\"status\":\"success\"}", NULL);
	ck_assert_int_eq(api_call(c, "GET", "/api/users/0.1/self/", NULL, NULL, 0, NULL, NULL, NULL,
				  NULL, &res, &err), FL_OK);
	ck_assert_str_eq(tu_server_last(srv).auth, "");
	http_client_free(c);
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("api_call");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, success_headers_keepalive);
	tcase_add_test(tc, gzip_body);
	tcase_add_test(tc, writes_send_bodies);
	tcase_add_test(tc, error_envelopes);
	tcase_add_test(tc, non_json_bodies);
	tcase_add_test(tc, truncated_body);
	tcase_add_test(tc, stall_times_out);
	tcase_add_test(tc, body_cap);
	tcase_add_test(tc, connection_refused);
	tcase_add_test(tc, developer_auth_header);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(http_suite());
}

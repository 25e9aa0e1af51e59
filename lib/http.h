/*
 * http.h — libflsync's HTTP transport: one reused libcurl easy handle per
 * client (keep-alive) for blocking requests, and transfers that a curl
 * multi handle runs side by side; gzip, connect and total timeouts, TLS
 * verification always on, the User-Agent and the auth header.  The body is streamed to a
 * sink as it arrives; nothing here holds a whole response.
 */
#ifndef FL_HTTP_H
#define FL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth_token.h"
#include "buf.h"
#include "error.h"

enum http_auth {
	HTTP_AUTH_OAUTH = 0,     /* Freelancer-OAuth-V1: <token> */
	HTTP_AUTH_DEVELOPER = 1, /* Freelancer-Developer-Auth-V1: <developer_id>;<key> */
};

struct http_config {
	const char *base_url;     /* origin, e.g. https://www.freelancer.com (no trailing path) */
	const char *token;        /* credential for the auth header; copied; never logged */
	struct token_source *tokens; /* or: ask this source before each request (it refreshes);
	                                borrowed, must outlive the client; token is then ignored */
	enum http_auth auth;      /* which auth header carries the token */
	long connect_timeout_ms;  /* 0: 10 s */
	long timeout_ms;          /* whole request; 0: 60 s */
	size_t max_body;          /* response body cap in bytes; 0: 64 MiB */
};

struct http_response {
	long status;              /* HTTP status, 0 when no response arrived */
	int64_t date;             /* server's Date header as unix seconds, 0 if absent */
	int64_t retry_after;      /* Retry-After in seconds, -1 if absent */
	long ratelimit_limit;     /* first figure of RateLimit-Limit, -1 if absent */
	char ratelimit_policy[128]; /* the whole RateLimit-Limit value ("50, 50;window=60, ..."), "" if absent */
	long ratelimit_remaining; /* RateLimit-Remaining, -1 if absent */
	size_t body_bytes;        /* body bytes received (after decoding) */
	char content_type[96];    /* Content-Type, "" if absent */
};

/*
 * Receives the body as it arrives.  Returns FL_OK to go on, or an FL_* code to
 * stop the transfer; http_request() then returns that code.
 */
typedef int (*http_sink)(void *ctx, const char *data, size_t len);

struct http_client;

int http_client_new(const struct http_config *cfg, struct http_client **out,
		    struct fl_error *err);
void http_client_free(struct http_client *c);

/*
 * Perform one request.  path_query is appended to the base URL and must
 * start with '/'.  body (may be NULL) is sent with content_type.  The sink
 * sees the body; resp is filled even when the request fails part-way.
 * Returns FL_OK when a whole response arrived (whatever its status),
 * FL_ERR_NETWORK, FL_ERR_TIMEOUT, FL_ERR_TOO_BIG, FL_ERR_NOMEM, or the
 * sink's code; the message is on c (http_errmsg()).
 */
int http_request(struct http_client *c, const char *method,
		 const char *path_query, const char *content_type,
		 const char *body, size_t body_len, http_sink sink, void *ctx,
		 struct http_response *resp);

const char *http_errmsg(const struct http_client *c);

/*
 * Requests side by side.  A transfer is one request on an easy handle of
 * the caller's (http_easy_new(): the client's timeouts, TLS, encodings;
 * HTTP/2 over TLS where the server offers it, waiting to multiplex on a
 * connection being set up rather than opening another), run by the
 * caller's curl multi handle.  http_xfer_begin sets the handle up for the
 * request as http_request() would send it (the token of now, its own header
 * list); the caller adds the handle to its multi, and when curl says it is
 * done, http_xfer_end (curl's CURLcode) gives http_request()'s verdict, the
 * message in x->err.  http_xfer_drop forgets a transfer that was begun and
 * never ended.  The struct stays where it is while the transfer runs
 * (curl's callbacks point at it; CURLOPT_PRIVATE too).
 */
struct curl_slist;
struct http_xfer {
	struct http_client *c;
	void *easy;                  /* the CURL easy handle it runs on */
	struct curl_slist *hdrs;     /* its own: the token when it began */
	const char *method, *path;   /* borrowed for the transfer */
	http_sink sink;
	void *sink_ctx;
	int sink_rc;
	bool too_big;
	struct http_response *resp;
	struct fl_error err;
	char curl_err[256];          /* CURL_ERROR_SIZE */
	uint64_t token_gen;          /* the token's generation it was signed with */
};

/* The token changed since generation gen (a request side by side renewed it). */
bool http_token_renewed(struct http_client *c, uint64_t gen);

void *http_easy_new(struct http_client *c);
/* The client's own handle, for a transfer performed at once (http_easy_perform: a CURLcode). */
void *http_easy(struct http_client *c);
int http_easy_perform(struct http_client *c);
void http_easy_free(void *easy);
int http_xfer_begin(struct http_client *c, struct http_xfer *x, void *easy, const char *method,
		    const char *path_query, const char *content_type, const char *body, size_t body_len,
		    http_sink sink, void *ctx, struct http_response *resp);
int http_xfer_end(struct http_xfer *x, int curl_code);
void http_xfer_drop(struct http_xfer *x);

/*
 * The client's token source can renew the token the API just refused with a
 * 401 (a token file with a refresh token, sign-in not ended).
 */
bool http_can_reauth(const struct http_client *c);

/*
 * Renew the token after a 401 (token_source_refresh()'s codes); the next
 * request carries the new one.  err gets the message.
 */
int http_reauth(struct http_client *c, struct fl_error *err);

/* The client's token source, NULL when it has a fixed token. */
struct token_source *http_tokens(const struct http_client *c);

/* Number of requests this client has sent (every attempt counts). */
uint64_t http_request_count(const struct http_client *c);

/* Append key=value to a query string under construction ('?' or '&'), URL-escaped. */
int http_query_add(struct buf *q, const char *key, const char *value);
int http_query_add_int(struct buf *q, const char *key, long long value);

#endif

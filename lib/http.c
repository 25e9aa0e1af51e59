/*
 * http.c — the libcurl transport behind every API call: one easy handle per
 * client, reused so its connection stays alive; response headers parsed for
 * the server's clock (Date) and rate-limit state; the body streamed to a
 * sink under a size cap.  The token lives only in the header list and is
 * wiped when the client is freed or the token changes; nothing here ever
 * prints it.  A client with a token source asks it for the token before
 * every request, so a refreshed token is sent from the next request on.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "config.h"
#include "http.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_TIMEOUT_MS 60000L
#define DEFAULT_MAX_BODY ((size_t)64 << 20)
#define MAX_URL 8192

struct http_client {
	CURL *curl;                 /* reused: keeps the connection alive */
	struct curl_slist *headers; /* User-Agent is an option; this holds auth + Accept */
	char *auth_line;            /* "Freelancer-OAuth-V1: <token>", wiped on free */
	char *base_url;             /* origin without trailing '/' */
	enum http_auth auth;        /* which header carries the token */
	struct token_source *tokens; /* borrowed; NULL with a fixed token */
	uint64_t token_gen;         /* the source's generation the headers were built for */
	size_t max_body;
	uint64_t requests;
	struct fl_error err;
	char curl_err[CURL_ERROR_SIZE];

	bool (*abort)(void *ctx);   /* http_set_abort: give up the request in flight */
	void *abort_ctx;

	/* per request */
	http_sink sink;
	void *sink_ctx;
	int sink_rc;
	bool too_big;
	struct http_response *resp;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void free_headers(struct curl_slist *h)
{
	/* curl_slist_append copied the auth line: wipe that copy too. */
	for (struct curl_slist *i = h; i; i = i->next)
		explicit_bzero(i->data, strlen(i->data));
	curl_slist_free_all(h);
}

/* (Re)build the header list: the auth line for token (none when NULL or ""), Accept. */
static int set_headers(struct http_client *c, const char *token, struct fl_error *err)
{
	struct curl_slist *h = NULL;
	char *line = NULL;
	const char *hname;
	size_t n;

	if (token && *token) {
		if (strpbrk(token, "\r\n"))
			return error_set(err, FL_ERR_MISUSE, "http: the API token contains a line break");
		hname = c->auth == HTTP_AUTH_DEVELOPER ? "Freelancer-Developer-Auth-V1" : "Freelancer-OAuth-V1";
		n = strlen(hname) + 2 + strlen(token) + 1;
		line = malloc(n);
		if (!line)
			goto nomem;
		snprintf(line, n, "%s: %s", hname, token);
		h = curl_slist_append(h, line);
		if (!h)
			goto nomem;
	}
	{
		struct curl_slist *more = curl_slist_append(h, "Accept: application/json");

		if (!more)
			goto nomem;
		h = more;
	}
	free_headers(c->headers);
	wipe_free(c->auth_line);
	c->headers = h;
	c->auth_line = line;
	if (c->curl)
		curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
	return FL_OK;
nomem:
	free_headers(h);
	wipe_free(line);
	return error_set(err, FL_ERR_NOMEM, "http: out of memory");
}

int http_client_new(const struct http_config *cfg, struct http_client **out,
		    struct fl_error *err)
{
	struct http_client *c;
	size_t n;

	*out = NULL;
	if (!cfg || !cfg->base_url || !*cfg->base_url)
		return error_set(err, FL_ERR_MISUSE, "http: no API base URL given");
	if (strncmp(cfg->base_url, "http://", 7) != 0 &&
	    strncmp(cfg->base_url, "https://", 8) != 0)
		return error_set(err, FL_ERR_MISUSE,
				 "http: API base URL %s must start with http:// or https://",
				 cfg->base_url);
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return error_set(err, FL_ERR_NETWORK, "http: libcurl initialisation failed: %s",
				 curl_easy_strerror(global_rc));

	c = calloc(1, sizeof *c);
	if (!c)
		return error_set(err, FL_ERR_NOMEM, "http: out of memory");
	c->base_url = strdup(cfg->base_url);
	if (!c->base_url)
		goto nomem;
	n = strlen(c->base_url);
	while (n > 0 && c->base_url[n - 1] == '/')
		c->base_url[--n] = '\0';
	c->max_body = cfg->max_body ? cfg->max_body : DEFAULT_MAX_BODY;

	c->curl = curl_easy_init();
	if (!c->curl)
		goto nomem;

	c->auth = cfg->auth;
	c->tokens = cfg->tokens;
	if (c->tokens) {
		int rc = set_headers(c, token_source_current(c->tokens, &c->token_gen), err);

		if (rc) {
			http_client_free(c);
			return rc;
		}
	} else {
		int rc = set_headers(c, cfg->token, err);

		if (rc) {
			http_client_free(c);
			return rc;
		}
	}

	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "flsync/" FL_VERSION);
	curl_easy_setopt(c->curl, CURLOPT_ACCEPT_ENCODING, ""); /* every encoding curl decodes */
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS,
			 cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS,
			 cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS);
	curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c->curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_err);
	curl_easy_setopt(c->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_body);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
	*out = c;
	return FL_OK;
nomem:
	http_client_free(c);
	return error_set(err, FL_ERR_NOMEM, "http: out of memory");
}

/* curl asks during a transfer, and about once a second while it waits. */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct http_client *c = ctx;

	return c->abort && c->abort(c->abort_ctx);
}

void http_set_abort(struct http_client *c, bool (*abort)(void *ctx), void *ctx)
{
	c->abort = abort;
	c->abort_ctx = ctx;
	curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, abort ? on_progress : NULL);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, abort ? c : NULL);
	curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, abort ? 0L : 1L);
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free_headers(c->headers);
	wipe_free(c->auth_line);
	free(c->base_url);
	free(c);
}

const char *http_errmsg(const struct http_client *c)
{
	return c->err.msg;
}

bool http_can_reauth(const struct http_client *c)
{
	return token_source_refreshable(c->tokens);
}

int http_reauth(struct http_client *c, struct fl_error *err)
{
	if (!c->tokens)
		return error_set(err, FL_ERR_STATE, "the API token is fixed: nothing to refresh");
	return token_source_refresh(c->tokens, true, err);
}

struct token_source *http_tokens(const struct http_client *c)
{
	return c->tokens;
}

uint64_t http_request_count(const struct http_client *c)
{
	return c->requests;
}

/* A header's value without leading blanks and trailing CR/LF, into out. */
static void header_value(const char *v, size_t n, char *out, size_t outsz)
{
	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, v, n);
	out[n] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nitems, void *ud)
{
	struct http_client *c = ud;
	struct http_response *r = c->resp;
	size_t n = size * nitems;
	const char *colon = memchr(data, ':', n);
	char value[256];
	size_t klen;

	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		/* A new status line (after 100 Continue): forget what came before. */
		r->date = 0;
		r->retry_after = -1;
		r->ratelimit_limit = r->ratelimit_remaining = -1;
		r->ratelimit_policy[0] = '\0';
		r->content_type[0] = '\0';
		return n;
	}
	if (!colon)
		return n;
	klen = (size_t)(colon - data);
	header_value(colon + 1, n - klen - 1, value, sizeof value);

	if (klen == 4 && strncasecmp(data, "Date", 4) == 0) {
		time_t t = curl_getdate(value, NULL);
		r->date = t > 0 ? (int64_t)t : 0;
	} else if (klen == 11 && strncasecmp(data, "Retry-After", 11) == 0) {
		char *end;
		long long s = strtoll(value, &end, 10);

		if (end != value && *end == '\0' && s >= 0) {
			r->retry_after = s;
		} else {
			/* An HTTP-date; the caller compares it with Date. */
			time_t t = curl_getdate(value, NULL);
			if (t > 0 && r->date > 0)
				r->retry_after = t > r->date ? (int64_t)t - r->date : 0;
		}
	} else if (klen == 15 && strncasecmp(data, "RateLimit-Limit", 15) == 0) {
		/* "50, 50;window=60, 1000;window=3600": the first figure is the tightest. */
		r->ratelimit_limit = strtol(value, NULL, 10);
		snprintf(r->ratelimit_policy, sizeof r->ratelimit_policy, "%.127s", value);
	} else if (klen == 19 && strncasecmp(data, "RateLimit-Remaining", 19) == 0) {
		r->ratelimit_remaining = strtol(value, NULL, 10);
	} else if (klen == 12 && strncasecmp(data, "Content-Type", 12) == 0) {
		header_value(colon + 1, n - klen - 1, r->content_type, sizeof r->content_type);
	}
	return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct http_client *c = ud;
	size_t n = size * nmemb;

	if (c->resp->body_bytes == 0)
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->resp->status);
	if (n > c->max_body - c->resp->body_bytes) {
		c->too_big = true;
		return 0;
	}
	c->resp->body_bytes += n;
	if (c->sink) {
		c->sink_rc = c->sink(c->sink_ctx, data, n);
		if (c->sink_rc != FL_OK)
			return 0;
	}
	return n;
}

static int classify(struct http_client *c, CURLcode cc, const char *method,
		    const char *path)
{
	const char *detail = c->curl_err[0] ? c->curl_err : curl_easy_strerror(cc);

	switch (cc) {
	case CURLE_OK:
		return FL_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return error_set(&c->err, FL_ERR_TIMEOUT, "%s %s: timed out: %s", method, path, detail);
	case CURLE_OUT_OF_MEMORY:
		return error_set(&c->err, FL_ERR_NOMEM, "%s %s: out of memory", method, path);
	case CURLE_ABORTED_BY_CALLBACK:
		return error_set(&c->err, FL_ERR_ABORTED, "%s %s: stopped", method, path);
	case CURLE_FILESIZE_EXCEEDED:
		return error_set(&c->err, FL_ERR_TOO_BIG, "%s %s: response larger than %zu bytes",
				 method, path, c->max_body);
	case CURLE_WRITE_ERROR:
		if (c->too_big)
			return error_set(&c->err, FL_ERR_TOO_BIG,
					 "%s %s: response larger than %zu bytes", method, path,
					 c->max_body);
		if (c->sink_rc != FL_OK)
			return error_set(&c->err, c->sink_rc, "%s %s: response rejected while reading",
					 method, path);
		break;
	case CURLE_BAD_CONTENT_ENCODING:
		return error_set(&c->err, FL_ERR_PARSE, "%s %s: bad content encoding: %s", method,
				 path, detail);
	case CURLE_PARTIAL_FILE:
		return error_set(&c->err, FL_ERR_NETWORK,
				 "%s %s: connection closed before the whole body arrived (%zu bytes read): %s",
				 method, path, c->resp->body_bytes, detail);
	default:
		break;
	}
	return error_set(&c->err, FL_ERR_NETWORK, "%s %s: %s", method, path, detail);
}

int http_request(struct http_client *c, const char *method,
		 const char *path_query, const char *content_type,
		 const char *body, size_t body_len, http_sink sink, void *ctx,
		 struct http_response *resp)
{
	char url[MAX_URL], ctype[128];
	struct curl_slist *hdrs = NULL, *extra = NULL;
	CURLcode cc;
	int rc;

	memset(resp, 0, sizeof *resp);
	resp->retry_after = -1;
	resp->ratelimit_limit = resp->ratelimit_remaining = -1;
	error_clear(&c->err);
	if (!path_query || path_query[0] != '/')
		return error_set(&c->err, FL_ERR_MISUSE, "http: path must start with '/'");
	if ((size_t)snprintf(url, sizeof url, "%s%s", c->base_url, path_query) >= sizeof url)
		return error_set(&c->err, FL_ERR_MISUSE, "http: URL longer than %d bytes", MAX_URL);

	if (c->tokens) {
		uint64_t gen;
		const char *token = token_source_current(c->tokens, &gen);

		if (gen != c->token_gen) {
			rc = set_headers(c, token, &c->err);
			if (rc)
				return rc;
			c->token_gen = gen;
		}
	}
	c->sink = sink;
	c->sink_ctx = ctx;
	c->sink_rc = FL_OK;
	c->too_big = false;
	c->resp = resp;
	c->curl_err[0] = '\0';

	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);

	hdrs = c->headers;
	if (body) {
		snprintf(ctype, sizeof ctype, "Content-Type: %s",
			 content_type ? content_type : "application/json");
		/* Prepend to a private list; c->headers stays untouched. */
		extra = curl_slist_append(NULL, ctype);
		if (!extra)
			return error_set(&c->err, FL_ERR_NOMEM, "http: out of memory");
		extra->next = c->headers;
		hdrs = extra;
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST,
				 strcmp(method, "POST") == 0 ? NULL : method);
	} else if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, NULL);
	} else {
		/* A bodiless PUT/DELETE/POST: parameters travel in the query. */
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST,
				 strcmp(method, "POST") == 0 ? NULL : method);
	}
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
	/*
	 * libcurl silently re-sends a request whose reused connection turns out
	 * dead before any answer: for a write whose reply was lost after the
	 * server applied it, that is a second write.  Writes get a connection of
	 * their own, so a lost reply surfaces as an error the replayer
	 * reconciles instead.
	 */
	curl_easy_setopt(c->curl, CURLOPT_FRESH_CONNECT, strcmp(method, "GET") != 0 ? 1L : 0L);

	c->requests++;
	cc = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	rc = classify(c, cc, method, path_query);

	if (extra) {
		extra->next = NULL;
		curl_slist_free_all(extra);
	}
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
	c->sink = NULL;
	c->resp = NULL;
	return rc;
}

int http_query_add(struct buf *q, const char *key, const char *value)
{
	char *ev = curl_easy_escape(NULL, value, 0);
	bool ok;

	if (!ev)
		return FL_ERR_NOMEM;
	ok = buf_printf(q, "%c%s=%s", q->len && strchr(q->data, '?') ? '&' : '?', key, ev);
	curl_free(ev);
	return ok ? FL_OK : FL_ERR_NOMEM;
}

int http_query_add_int(struct buf *q, const char *key, long long value)
{
	return buf_printf(q, "%c%s=%lld", q->len && strchr(q->data, '?') ? '&' : '?', key,
			  value) ? FL_OK : FL_ERR_NOMEM;
}
